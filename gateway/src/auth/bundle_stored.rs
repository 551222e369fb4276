//! Stored Bundles read by id inside a restricted caller's batch (FHIR R4 http.html
//! §3.1.0.11.1: each entry is processed as if it were sent alone).
//!
//! Alone, a read or vread of `Bundle/[id]` answers one stored resource, judged whole
//! whatever its `type` ([`super::filter::filter_resource`]). In a batch-response, the
//! post-filter takes a nested Bundle of an answer's type (`searchset`, `history` …) for the
//! answer of one of the caller's own searches and filters it entry by entry: a stored
//! `searchset` holding another patient's resources came back as a `200` entry with its id,
//! meta and identifier and `"entry": []` (attack finding HIGH, 30 Nov 2026). So such an
//! entry is judged here, on the merged batch-response before the post-filter, and its
//! answer is held to be put back after it (`bundle_history::put_back`): the Bundle as it
//! is when shown whole, else the `404` entry a missing id gets.

use fhirgate_adapters::Interaction;
use serde_json::Value;

use super::access::Subject;
use super::bundle_history::get_entry;
use super::bundle_merge::refused_answer;
use super::enforce::hidden;
use super::filter::visible_stored;

/// Whether the batch entry `entry` (of a Bundle sent to `base`) reads a stored Bundle by
/// id (`GET`/`HEAD` `Bundle/[id]` or `Bundle/[id]/_history/[vid]`), when `subject` is
/// restricted.
pub(super) fn is_read(subject: &Subject, base: &str, entry: &Value) -> bool {
    [Interaction::Read, Interaction::Vread]
        .into_iter()
        .any(|i| {
            get_entry(subject, base, entry, i)
                .is_some_and(|r| r.resource_type.as_deref() == Some("Bundle"))
        })
}

/// For the `reads` (slot indices, [`is_read`]) of a restricted caller's batch: each entry
/// of `answer` (the merged batch-response, before the post-filter) holding a Bundle is
/// judged whole and its answer added to `held`: as it is when `subject` may see it whole,
/// else the entry of a missing id.
pub(super) fn judge(
    subject: &Subject,
    answer: &[u8],
    reads: &[usize],
    held: &mut Vec<(usize, Value)>,
) {
    if reads.is_empty() {
        return;
    }
    let Ok(bundle) = serde_json::from_slice::<Value>(answer) else {
        // Unreadable: the post-filter refuses the whole answer.
        return;
    };
    for index in reads {
        let Some(entry) = bundle.get("entry").and_then(|e| e.get(*index)) else {
            continue;
        };
        let Some(resource) = entry
            .get("resource")
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Bundle"))
        else {
            // A 404 or 410 (or something else): the post-filter answers it.
            continue;
        };
        let shown = if visible_stored(subject, "Bundle", resource) {
            entry.clone()
        } else {
            tracing::info!(
                resource_type = "Bundle",
                "batch entry outside the caller's reach withheld"
            );
            refused_answer(&hidden("Bundle", ""))
        };
        held.push((*index, shown));
    }
}
