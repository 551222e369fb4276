//! Batch- and transaction-responses (FHIR R4 §3.1.0.11.1) filtered one entry at a time:
//! the envelope and each entry are borrowed from the answer's text ([`RawValue`]) and only
//! one entry at a time becomes a `serde_json::Value`, so filtering a large batch-response
//! holds about twice its text instead of a tree several times its size. Each entry gets
//! exactly what [`super::filter_bundle`] does to it in a whole Bundle (entries are
//! independent there); unchanged entries are copied as they were.

use indexmap::IndexMap;
use serde_json::Value;
use serde_json::value::RawValue;

use super::super::access::Subject;

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
        if super::filter_bundle(subject, &mut one) {
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
