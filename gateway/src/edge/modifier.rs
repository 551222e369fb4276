//! Search modifiers checked for every caller before authorization (FHIR R4 search.html
//! §3.1.1.5 "Modifiers": a server SHALL reject a search with a modifier it does not know).
//!
//! A malformed search is the client's error whoever sends it: 400 `invalid`, decided from
//! the request's shape only, before the patient-compartment narrowing (`auth::narrow`)
//! that answers 403 for modifiers it cannot bound. Checked:
//!
//! - `_id` (a token on every resource, R4 `Resource.id`): only the token modifiers
//!   (`missing`, `not`, `text`, `in`, `not-in`, `below`, `above`, `of-type`);
//!   `_id:exact` or `_id:bogus` answer 400 with the embedded store's wording.
//! - `patient`, `subject`, `link` (references wherever R4 defines them, and the
//!   parameters patient-compartment narrowing looks at on every type): only the reference
//!   modifiers (`missing`, `identifier`, `above`, `below`, or a resource type);
//!   `subject:exact` answers 400 as `_id:exact` does.
//! - any other parameter: the modifier must be a code of SearchModifierCode or an R4
//!   resource type (the `:[type]` modifier of references).
//!
//! - `_include`, `_revinclude` (search.html §3.1.1.5.4 "Including other resources"): no
//!   modifier but `:iterate` (R4) or its STU3 name `:recurse`; the value `*` or
//!   `Source:param[:Target]` with `Source` and `Target` R4 resource types (`param` may be
//!   `*`). Whether `param` exists is the adapter's to say (the embedded store: 400).
//!
//! `_has:…` keys (reverse chaining) are not modifiers in this sense and pass. None of
//! this depends on `Prefer: handling=lenient`: that lets a server ignore an unknown
//! parameter (search.html §3.1.1.4), not a malformed value or an unknown modifier.

use fhirgate_adapters::form::clip;
use fhirgate_adapters::interaction::is_resource_type;

use crate::error::GatewayError;

/// The modifiers R4 defines for token parameters (search.html §3.1.1.5, token).
const TOKEN: &[&str] = &[
    "missing", "not", "text", "in", "not-in", "below", "above", "of-type",
];

/// The modifiers R4 defines for reference parameters besides `:[type]`.
const REFERENCE: &[&str] = &["missing", "identifier", "above", "below"];

/// Parameters that are references on every R4 type that defines them.
const REFERENCES: &[&str] = &["patient", "subject", "link"];

/// SearchModifierCode (R4 4.0.1) plus `ofType`, its code spelling in the value set.
const ANY: &[&str] = &[
    "missing",
    "exact",
    "contains",
    "not",
    "text",
    "in",
    "not-in",
    "below",
    "above",
    "type",
    "identifier",
    "ofType",
    "of-type",
];

/// Err (400 `invalid`) for the first search parameter of `query` whose modifier is not
/// one FHIR R4 defines for it; the modifier is quoted clipped, never whole.
pub(crate) fn check(query: &[(String, String)]) -> Result<(), GatewayError> {
    for (key, value) in query {
        let name = key.split(':').next().unwrap_or(key);
        if matches!(name, "_include" | "_revinclude") {
            include(key, value)?;
            continue;
        }
        if key.starts_with("_has") {
            continue;
        }
        let Some((name, rest)) = key.split_once(':') else {
            continue;
        };
        // A chain (`subject:Patient.name`): the modifier is the part before the dot.
        let modifier = rest.split('.').next().unwrap_or(rest);
        let known = if name == "_id" {
            TOKEN.contains(&modifier)
        } else if REFERENCES.contains(&name) {
            REFERENCE.contains(&modifier) || is_resource_type(modifier)
        } else {
            ANY.contains(&modifier) || is_resource_type(modifier)
        };
        if !known {
            return Err(GatewayError::BadRequest(format!(
                "modifier ':{}' is not supported on '{}'",
                clip(modifier),
                clip(name)
            )));
        }
    }
    Ok(())
}

/// `_include`/`_revinclude` `key=value`: the modifier and the value's shape (module docs).
fn include(key: &str, value: &str) -> Result<(), GatewayError> {
    let (name, modifier) = key.split_once(':').unwrap_or((key, ""));
    if !matches!(modifier, "" | "iterate" | "recurse") {
        return Err(GatewayError::BadRequest(format!(
            "modifier ':{}' is not supported on '{name}' (only :iterate)",
            clip(modifier)
        )));
    }
    if value == "*" {
        return Ok(());
    }
    let bad = |why: String| GatewayError::BadRequest(format!("{name} '{}' {why}", clip(value)));
    let parts: Vec<&str> = value.split(':').collect();
    let (source, param, target) = match parts.as_slice() {
        [source, param] => (*source, *param, None),
        [source, param, target] => (*source, *param, Some(*target)),
        _ => return Err(bad("is not Source:param[:Target] or *".into())),
    };
    for rt in std::iter::once(source).chain(target) {
        if !is_resource_type(rt) {
            return Err(bad(format!(
                "names '{}', which is not a resource type",
                clip(rt)
            )));
        }
    }
    if param.is_empty() {
        return Err(bad("names no search parameter".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    fn q(key: &str) -> Vec<(String, String)> {
        vec![(key.to_owned(), "x".to_owned())]
    }

    #[test]
    fn known_modifiers_pass_and_unknown_ones_are_refused() {
        for ok in [
            "_id",
            "_id:not",
            "_id:missing",
            "subject:Patient",
            "subject:Patient.name",
            "name:exact",
            "code:text",
            "_has:Observation:patient:code",
        ] {
            assert!(check(&q(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "_id:exact",
            "_id:bogus",
            "_id:Patient",
            "subject:bogus",
            "subject:exact",
            "patient:not",
        ] {
            assert!(check(&q(bad)).is_err(), "{bad}");
        }
    }

    /// `_include`/`_revinclude` (R4 search.html §3.1.1.5.4): `:iterate` (or `:recurse`)
    /// only, and `*` or `Source:param[:Target]` naming resource types.
    #[test]
    fn include_modifiers_and_values_are_checked() {
        let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        for (key, value) in [
            ("_include", "*"),
            ("_include", "Observation:subject"),
            ("_include:iterate", "Observation:*:Patient"),
            ("_revinclude:recurse", "Provenance:target"),
        ] {
            assert!(check(&pair(key, value)).is_ok(), "{key}={value}");
        }
        for (key, value) in [
            ("_include:bogus", "*"),
            ("_include", "Observation:*:NotAType"),
            ("_include", "Observation:subject:NotAType"),
            ("_revinclude", "Foo:*"),
            ("_include", "Observation"),
            ("_include", "Observation:"),
            ("_include", "Observation:subject:Patient:x"),
        ] {
            assert!(check(&pair(key, value)).is_err(), "{key}={value}");
        }
    }
}
