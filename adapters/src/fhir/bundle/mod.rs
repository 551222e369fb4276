//! One pass over an upstream JSON body (`serde_json::Value`, never typed models) rewriting
//! the links of Bundles (FHIR R4 `Bundle` resource): `Bundle.link.url`, `Bundle.entry.fullUrl`
//! and `Bundle.entry.response.location`, also in Bundles nested as `entry.resource` (the
//! searchset inside a batch-response; FHIR R4 RESTful API, "Batch/Transaction").
//!
//! Other resources (OperationOutcome included) are never touched.
//!
//! [`rewrite_links_in_text`] does the same on the JSON text without building a tree: one
//! borrowing pass finds the link strings, and only those bytes are replaced (everything
//! else is forwarded byte for byte). It is the hot path for search answers; it declines
//! (`Err`) on shapes it does not model, and the caller then uses [`rewrite_links`].

mod text;

use serde_json::Value;

use super::rewrite::{Base, rewrite};

pub use text::{Declined, rewrite_links_in_text};

/// Rewrites the links of `value` (when it is a Bundle) from `upstream` to `public`.
/// Returns whether anything changed, so unchanged bodies can be forwarded byte for byte.
pub fn rewrite_links(value: &mut Value, upstream: &Base, public: &Base) -> bool {
    let Some(bundle) = value.as_object_mut() else {
        return false;
    };
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return false;
    }
    let mut changed = false;
    let mut fix = |slot: Option<&mut Value>| {
        if let Some(slot) = slot
            && let Some(new) = slot.as_str().and_then(|s| rewrite(s, upstream, public))
        {
            *slot = Value::String(new);
            changed = true;
        }
    };
    if let Some(links) = bundle.get_mut("link").and_then(Value::as_array_mut) {
        for link in links {
            fix(link.get_mut("url"));
        }
    }
    let mut nested = false;
    if let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
        for entry in entries {
            fix(entry.get_mut("fullUrl"));
            fix(entry
                .get_mut("response")
                .and_then(|r| r.get_mut("location")));
            if let Some(resource) = entry.get_mut("resource") {
                nested |= rewrite_links(resource, upstream, public);
            }
        }
    }
    changed || nested
}

#[cfg(test)]
mod tests;
