//! A stored Bundle judged as a whole (attack finding MEDIUM 8, 30 Nov 2026).
//!
//! A `Bundle` is a resource like any other (FHIR R4 bundle.html §2.36.3: a Bundle can be
//! stored on its own): what a search or read finds of one is shown to a restricted caller
//! only when nothing in it is about a patient the caller does not reach — no `reference`
//! naming one (in any entry, at any depth), no entry the caller could not read alone, and
//! no text spelling `Patient/{id}` of another patient (`link.url`, `fullUrl`,
//! `request.url`: a `link` with `?subject=Patient/B` tells B's id and what was searched).
//! Filtering its entries one by one would show the rest (id, identifier, timestamps,
//! links, shared entries) of another patient's Bundle.
//!
//! Only the answer of the caller's own request is a container whose entries are filtered
//! one by one: the `searchset`, `history`, `batch-response` or `transaction-response`
//! Bundle at the top of an answer, and such a Bundle answering one entry of the caller's
//! batch or transaction (R4 http.html §3.1.0.11.1). Its links must name no other patient
//! either (an answer of ours never does: a query naming another patient is refused).

use std::collections::BTreeSet;

use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::super::access::{Reach, Subject};
use super::super::compartment::PATIENT_COMPARTMENT;
use super::super::scope::Context;

/// The Bundle types an answer of this gateway has (R4 `bundle-type`).
const ANSWER_TYPES: [&str; 4] = [
    "searchset",
    "history",
    "batch-response",
    "transaction-response",
];

/// Whether `bundle` has the type of an answer (a container filtered entry by entry when it
/// is the caller's own answer).
pub(super) fn is_answer_type(bundle: &Value) -> bool {
    bundle
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| ANSWER_TYPES.contains(&t))
}

/// Whether the stored Bundle `bundle` may be shown to `subject` as it is: inside a grant on
/// Bundle (every patient it references reached), every entry's resource visible on its
/// own (a nested Bundle judged whole again) and no text naming another patient.
pub(super) fn visible_whole(subject: &Subject, bundle: &Value) -> bool {
    if !super::visible(subject, "Bundle", bundle) {
        return false;
    }
    let entries_visible = bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
        .all(|r| match r.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => visible_whole(subject, r),
            Some(rt) => super::visible(subject, rt, r),
            None => false,
        });
    entries_visible && text_names_only_reached(subject, bundle, Bare::Compartment)
}

/// Whether the `link` URLs of the answer Bundle `bundle` name only patients `subject`
/// reaches.
pub(super) fn links_reached(subject: &Subject, bundle: &Value) -> bool {
    match bundle.get("link") {
        Some(links) => text_names_only_reached(subject, links, Bare::Patient),
        None => true,
    }
}

/// [`links_reached`] on the strings the scan collected from an answer's `link`.
pub(super) fn link_texts_reached(subject: &Subject, texts: &[String]) -> bool {
    texts.is_empty()
        || reached(subject)
            .is_none_or(|set| texts.iter().all(|t| names_only(&set, t, Bare::Patient)))
}

/// Which search parameters' bare values (`?patient=B`) are read as Patient ids.
#[derive(Clone, Copy)]
enum Bare {
    /// `patient` only: in an answer's own links, whose query was authorized, a bare
    /// `actor=pract-1` names a Practitioner.
    Patient,
    /// Every Patient compartment parameter (`subject`, `actor` …): in a stored Bundle,
    /// deny by default.
    Compartment,
}

/// Whether every string in `value` names only patients `subject` reaches (under any of
/// its scopes).
fn text_names_only_reached(subject: &Subject, value: &Value, bare: Bare) -> bool {
    let Some(set) = reached(subject) else {
        return true;
    };
    strings_reached(&set, value, bare)
}

/// The patients some scope of `subject` reaches; `None` when one reaches every patient.
fn reached(subject: &Subject) -> Option<BTreeSet<String>> {
    let mut set = BTreeSet::new();
    for scope in &subject.identity.scopes.resources {
        match scope.context {
            Context::System => return None,
            Context::User => match &subject.user_reach {
                Reach::All => return None,
                Reach::Patients(patients) => set.extend(patients.iter().cloned()),
            },
            Context::Patient => set.extend(subject.identity.principal.patient.clone()),
        }
    }
    Some(set)
}

fn strings_reached(set: &BTreeSet<String>, value: &Value, bare: Bare) -> bool {
    match value {
        Value::String(s) => names_only(set, s, bare),
        Value::Array(items) => items.iter().all(|v| strings_reached(set, v, bare)),
        Value::Object(map) => map.values().all(|v| strings_reached(set, v, bare)),
        _ => true,
    }
}

/// Whether `text` (percent-decoded, RFC 3986 §2.1) spells only reached patients: each
/// `Patient/{id}`, and each bare value of a search parameter `bare` reads as a Patient id
/// (`?patient=B`; with [`Bare::Compartment`] also `?subject=B`), must be in `set`.
fn names_only(set: &BTreeSet<String>, text: &str, bare: Bare) -> bool {
    if !text.contains('%') && !text.contains("Patient/") && !text.contains('=') {
        return true;
    }
    let decoded = percent_decode_str(text).decode_utf8_lossy();
    let mut rest = decoded.as_ref();
    let mut before: Option<char> = None;
    while let Some(at) = rest.find("Patient/") {
        let prev = rest[..at].chars().next_back().or(before);
        let after = &rest[at + "Patient/".len()..];
        let id: String = after.chars().take_while(|c| is_id_char(*c)).collect();
        if !prev.is_some_and(char::is_alphanumeric) && !id.is_empty() && !set.contains(&id) {
            return false;
        }
        before = Some('/');
        rest = after;
    }
    let Some((_, query)) = decoded.split_once('?') else {
        return true;
    };
    query.split('&').all(|pair| {
        let (name, values) = pair.split_once('=').unwrap_or((pair, ""));
        let name = name.split(':').next().unwrap_or(name);
        let read = match bare {
            Bare::Patient => name == "patient",
            Bare::Compartment => is_compartment_param(name),
        };
        !read
            || values
                .split(',')
                .all(|v| v.is_empty() || v.contains('/') || set.contains(v))
    })
}

/// The id alphabet of R4 `id` (datatypes.html §2.24.0.1), read generously.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// A search parameter that puts a resource in a patient's compartment (its bare value is
/// a Patient id), or `patient`.
fn is_compartment_param(name: &str) -> bool {
    name == "patient"
        || PATIENT_COMPARTMENT
            .iter()
            .any(|(_, params)| params.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_naming_another_patient_is_caught() {
        let set = BTreeSet::from(["a".to_owned()]);
        let strict = |t: &str| names_only(&set, t, Bare::Compartment);
        assert!(strict("http://gw/fhir/Observation?subject=Patient/a"));
        assert!(!strict("http://gw/fhir/Observation?subject=Patient/b"));
        assert!(!strict("http://gw/fhir/Observation?subject=Patient%2Fb"));
        assert!(!strict("Observation?patient=b&_count=5"));
        assert!(strict("Observation?patient=a&_count=5"));
        assert!(!strict("urn:x Patient/a and Patient/b"));
        assert!(strict("RelatedPatient/b is not a Patient reference"));
        assert!(strict("Medication?code=123"));
        assert!(!strict("Appointment?actor=pract-1"));
        // An answer's own link: a bare actor is a Practitioner, a bare patient is not.
        assert!(names_only(&set, "Appointment?actor=pract-1", Bare::Patient));
        assert!(!names_only(&set, "Observation?patient=b", Bare::Patient));
    }
}
