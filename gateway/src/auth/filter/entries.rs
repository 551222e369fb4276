//! Bundles filtered entry by entry ([`filter_bundle`]: searchset, history, and the
//! caller's own batch- and transaction-responses, FHIR R4 §3.1.0.11.1).
//!
//! Batch- and transaction-responses are filtered one entry at a time:
//! the envelope and each entry are borrowed from the answer's text ([`RawValue`]) and only
//! one entry at a time becomes a `serde_json::Value`, so filtering a large batch-response
//! holds about twice its text instead of a tree several times its size. Each entry gets
//! exactly what [`filter_bundle`] does to it in a whole Bundle (entries are
//! independent there); unchanged entries are copied as they were.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::super::access::Subject;
use super::{stored, total, visible};

/// Filters `bytes` when it is a batch- or transaction-response Bundle: `None` when it is
/// not one (or does not parse this way; the caller's whole-tree pass decides then),
/// `Some(None)` when nothing changed, `Some(Some(text))` with the filtered Bundle.
pub(super) fn filter_response(subject: &Subject, bytes: &[u8]) -> Option<Option<Vec<u8>>> {
    let top: IndexMap<String, &RawValue> = serde_json::from_slice(bytes).ok()?;
    let text =
        |key: &str| -> Option<String> { serde_json::from_str::<String>(top.get(key)?.get()).ok() };
    let kind = text("type")?;
    if text("resourceType").as_deref() != Some("Bundle")
        || !matches!(kind.as_str(), "batch-response" | "transaction-response")
    {
        return None;
    }
    let entries: Vec<&RawValue> = serde_json::from_str(top.get("entry")?.get()).ok()?;
    let mut changed = false;
    let mut out: Vec<Option<String>> = Vec::with_capacity(entries.len());
    for raw in &entries {
        let entry: Value = serde_json::from_str(raw.get()).ok()?;
        let mut one = serde_json::json!({"resourceType": "Bundle", "type": kind, "entry": [entry]});
        if filter_bundle(subject, &mut one) {
            changed = true;
            out.push(Some(one.pointer("/entry/0")?.to_string()));
        } else {
            out.push(None);
        }
    }
    if !changed {
        return Some(None);
    }
    let mut body = String::with_capacity(bytes.len());
    body.push('{');
    let mut first = true;
    for (key, value) in &top {
        if key == "total" {
            continue;
        }
        if !first {
            body.push(',');
        }
        first = false;
        body.push_str(&Value::String(key.clone()).to_string());
        body.push(':');
        if key != "entry" {
            body.push_str(value.get());
            continue;
        }
        body.push('[');
        for (i, (raw, filtered)) in entries.iter().zip(&out).enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(filtered.as_deref().unwrap_or(raw.get()));
        }
        body.push(']');
    }
    body.push('}');
    Some(Some(body.into_bytes()))
}

/// Whether a batch/transaction-response entry says a resource is missing or gone (404 or
/// 410; a 404 `not-supported` speaks of the server's operations, not of data, and stays).
fn is_not_found(entry: &Value) -> bool {
    let status = entry.pointer("/response/status").and_then(Value::as_str);
    let code = entry
        .pointer("/response/outcome/issue/0/code")
        .and_then(Value::as_str);
    status.is_some_and(|s| s.starts_with("410"))
        || (status.is_some_and(|s| s.starts_with("404")) && code != Some("not-supported"))
}

/// The one answer a restricted caller gets for every entry that is missing, deleted or
/// withheld, exactly as a single request's 404 ("resource not found"): the adapter's own
/// not-found entries are replaced by it too, so a withheld resource and a missing one
/// cannot be told apart (as for single reads, see [`filter`]).
fn not_found_entry() -> Value {
    let outcome = fhirgate_conformance::operation_outcome(&[fhirgate_conformance::Issue::error(
        fhirgate_conformance::IssueCode::NotFound,
        "resource not found",
    )]);
    json!({"response": {"status": "404 Not Found", "outcome": outcome}})
}

/// Filters a Bundle in place; returns whether anything was removed. Its entries' resources
/// are stored resources, a Bundle among them judged whole ([`stored::visible_whole`]),
/// except in a batch/transaction-response: there a searchset or history Bundle answers one
/// of the caller's own entries and is filtered the same way (its links naming no other
/// patient).
pub(in crate::auth) fn filter_bundle(subject: &Subject, bundle: &mut Value) -> bool {
    let is_response = matches!(
        bundle.get("type").and_then(Value::as_str),
        Some("batch-response" | "transaction-response")
    );
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return false;
    };
    let mut changed = false;
    // `Bundle.total` counts the matches only (R4 bundle.html, Bundle.total): a withheld
    // `_include`/`_revinclude` (search.mode `include`) leaves it as if never there.
    let mut match_dropped = false;
    let mut kept = Vec::with_capacity(entries.len());
    for mut entry in entries.drain(..) {
        let keep = match entry.get_mut("resource") {
            // A batch/transaction-response entry answers the caller's own (authorized)
            // request entry. A searchset or history entry without a resource (a deletion)
            // cannot be checked, and would name another patient's record: dropped.
            None => is_response,
            Some(resource) => match resource.get("resourceType").and_then(Value::as_str) {
                Some("Bundle") if is_response && stored::is_answer_type(resource) => {
                    changed |= filter_bundle(subject, resource);
                    if total::nested_withheld(subject, resource)
                        && let Some(map) = resource.as_object_mut()
                    {
                        map.remove("total");
                        changed = true;
                    }
                    stored::links_reached(subject, resource)
                }
                Some("Bundle") => stored::visible_whole(subject, resource),
                Some(rt) => {
                    let rt = rt.to_owned();
                    visible(subject, &rt, resource)
                }
                None => false,
            },
        };
        if keep && !(is_response && is_not_found(&entry)) {
            kept.push(entry);
        } else {
            changed = true;
            match_dropped |= !is_included(&entry);
            if is_response {
                kept.push(not_found_entry());
            }
        }
    }
    *entries = kept;
    if match_dropped && let Some(map) = bundle.as_object_mut() {
        map.remove("total");
    }
    changed
}

/// Whether a searchset entry was added by `_include`/`_revinclude` (`search.mode`
/// `include`), so it does not count in `Bundle.total`; an entry without a mode counts.
fn is_included(entry: &Value) -> bool {
    entry.pointer("/search/mode").and_then(Value::as_str) == Some("include")
}
