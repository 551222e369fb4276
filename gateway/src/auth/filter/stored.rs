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
    entries_visible && text_names_only_reached(subject, bundle)
}

/// Whether the `link` URLs of the answer Bundle `bundle` name only patients `subject`
/// reaches.
pub(super) fn links_reached(subject: &Subject, bundle: &Value) -> bool {
    match bundle.get("link") {
        Some(links) => text_names_only_reached(subject, links),
        None => true,
    }
}

/// Whether every string in `value` names only patients `subject` reaches (under any of
/// its scopes).
fn text_names_only_reached(subject: &Subject, value: &Value) -> bool {
    let Some(set) = reached(subject) else {
        return true;
    };
    strings_reached(&set, value)
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

fn strings_reached(set: &BTreeSet<String>, value: &Value) -> bool {
    match value {
        Value::String(s) => names_only(set, s),
        Value::Array(items) => items.iter().all(|v| strings_reached(set, v)),
        Value::Object(map) => map.values().all(|v| strings_reached(set, v)),
        _ => true,
    }
}

/// Whether `text` (percent-decoded, RFC 3986 §2.1) spells only reached patients: each
/// `Patient/{id}`, and each bare value of a Patient compartment search parameter
/// (`?patient=B`, `?subject=B`), must be in `set`.
fn names_only(set: &BTreeSet<String>, text: &str) -> bool {
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
        !is_compartment_param(name)
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
        assert!(names_only(
            &set,
            "http://gw/fhir/Observation?subject=Patient/a"
        ));
        assert!(!names_only(
            &set,
            "http://gw/fhir/Observation?subject=Patient/b"
        ));
        assert!(!names_only(
            &set,
            "http://gw/fhir/Observation?subject=Patient%2Fb"
        ));
        assert!(!names_only(&set, "Observation?patient=b&_count=5"));
        assert!(names_only(&set, "Observation?patient=a&_count=5"));
        assert!(!names_only(&set, "urn:x Patient/a and Patient/b"));
        assert!(names_only(
            &set,
            "RelatedPatient/b is not a Patient reference"
        ));
        assert!(names_only(&set, "Medication?code=123"));
    }
}
