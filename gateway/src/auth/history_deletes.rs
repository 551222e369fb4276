//! Deletions in a restricted caller's instance history (FHIR R4 http.html §3.1.0.9
//! history: a deletion is an entry with `request.method` DELETE and no `resource`).
//!
//! The post-filter cannot check an entry without a resource and drops it, which on its own
//! would hide the caller's own records: the first page of the history of the caller's
//! deleted Observation holds only the deletion, so it was left empty and answered 404, and
//! the earlier versions (which name the caller) were never reached. A deletion is the end
//! of the version before it, so it is shown exactly when that version is: the entry that
//! precedes it in the resource's history (version `n - 1` of a deletion with ETag
//! `W/"n"`), read from the same page or, when it is on the next one, by a vread through
//! the route's adapter as the caller. A deletion without an ETag stays withheld. A read of
//! the deleted resource answers 410 Gone on the same test ([`gone_shown`]), else 404.

use bytes::Bytes;
use fhirgate_adapters::interaction::Target;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::header;
use serde_json::Value;

use super::access::Subject;
use super::filter::visible;
use super::lookup::internal;
use crate::error::GatewayError;
use crate::state::AppState;

/// Puts back into `answer` (the filtered instance history answering `request` for a
/// restricted `subject`) the deletion entries of `unfiltered` (the adapter's answer) that
/// end a version the caller is shown, in their place.
pub async fn restore(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    unfiltered: &[u8],
    answer: FhirResponse,
) -> Result<FhirResponse, GatewayError> {
    let Ok(original) = serde_json::from_slice::<Value>(unfiltered) else {
        return Ok(answer);
    };
    let original: Vec<Value> = entries(&original).to_vec();
    if !original.iter().any(is_deletion) {
        return Ok(answer);
    }
    let FhirResponse {
        status,
        mut headers,
        body,
    } = answer;
    let ResponseBody::Full(bytes) = &body else {
        return Ok(FhirResponse {
            status,
            headers,
            body,
        });
    };
    let Ok(mut bundle) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(FhirResponse {
            status,
            headers,
            body,
        });
    };
    let kept = entries(&bundle).to_vec();
    let mut merged = Vec::with_capacity(original.len());
    let mut next_kept = kept.iter().peekable();
    let mut restored = false;
    for (i, entry) in original.iter().enumerate() {
        if next_kept.peek().is_some_and(|k| same_version(k, entry)) {
            merged.extend(next_kept.next().cloned());
        } else if is_deletion(entry)
            && ends_a_shown_version(state, subject, request, &original[i + 1..], entry).await?
        {
            merged.push(entry.clone());
            restored = true;
        }
    }
    merged.extend(next_kept.cloned());
    if !restored {
        return Ok(FhirResponse {
            status,
            headers,
            body,
        });
    }
    bundle["entry"] = Value::Array(merged);
    headers.remove(header::CONTENT_LENGTH);
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(bundle.to_string())),
    })
}

/// Whether `page` (a later page of `request`'s history, unfiltered) holds a deletion that
/// [`restore`] would show: the page is then shown too (`history_pages` links to it).
pub async fn shows_a_deletion(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    page: &Value,
) -> Result<bool, GatewayError> {
    let entries = entries(page);
    for (i, entry) in entries.iter().enumerate() {
        if is_deletion(entry)
            && ends_a_shown_version(state, subject, request, &entries[i + 1..], entry).await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the adapter's `410 Gone` (its `headers`) to `request`, a read of a deleted
/// resource (FHIR R4 http.html §3.1.0.2), reaches `subject` as it is: when the version the
/// deletion ended (its ETag `W/"n"` names the deletion, so version `n - 1`) is one the
/// caller is shown, as its history shows that deletion ([`restore`]). Otherwise the caller
/// gets the same 404 as for a missing or withheld resource (`super::filter`), so another
/// patient's deletions stay unseen.
pub async fn gone_shown(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    headers: &http::HeaderMap,
) -> Result<bool, GatewayError> {
    let Some(etag) = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return Ok(false);
    };
    let deletion = serde_json::json!({"request": {"method": "DELETE"}, "response": {"etag": etag}});
    ends_a_shown_version(state, subject, request, &[], &deletion).await
}

fn entries(bundle: &Value) -> &[Value] {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A history entry recording a deletion: no resource, `request.method` DELETE.
fn is_deletion(entry: &Value) -> bool {
    entry.get("resource").is_none()
        && entry.pointer("/request/method").and_then(Value::as_str) == Some("DELETE")
}

/// The version an entry records, from `response.etag` (`W/"3"` → 3).
fn version(entry: &Value) -> Option<u64> {
    let etag = entry.pointer("/response/etag").and_then(Value::as_str)?;
    etag.trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// Whether `kept` (an entry the filter kept) is `entry` of the adapter's answer: the same
/// version (ETag) of the same resource, or, without an ETag, the same entry.
fn same_version(kept: &Value, entry: &Value) -> bool {
    match (version(kept), version(entry)) {
        (Some(a), Some(b)) => a == b && kept.get("fullUrl") == entry.get("fullUrl"),
        _ => kept == entry,
    }
}

/// Whether the version `deletion` ends is shown to `subject`: found among `older` (the
/// entries after it on this page) or read by vread.
async fn ends_a_shown_version(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    older: &[Value],
    deletion: &Value,
) -> Result<bool, GatewayError> {
    let (Some(rt), Some(id)) = (request.resource_type.as_deref(), request.id.as_deref()) else {
        return Ok(false);
    };
    let Some(before) = version(deletion)
        .and_then(|v| v.checked_sub(1))
        .filter(|v| *v > 0)
    else {
        return Ok(false);
    };
    let on_page = older.iter().find(|e| version(e) == Some(before));
    let resource = match on_page {
        Some(entry) => entry.get("resource").cloned(),
        None => {
            let target = Target {
                interaction: Interaction::Vread,
                resource_type: Some(rt.to_owned()),
                id: Some(id.to_owned()),
                version_id: Some(before.to_string()),
                operation: None,
            };
            internal(state, request, target, Vec::new(), false).await?
        }
    };
    Ok(resource.is_some_and(|r| {
        r.get("resourceType").and_then(Value::as_str) == Some(rt)
            && r.get("id").and_then(Value::as_str) == Some(id)
            && visible(subject, rt, &r)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deletions_and_versions_are_read_from_the_entry() {
        let deletion = json!({"fullUrl": "http://g/fhir/Observation/x",
            "request": {"method": "DELETE", "url": "Observation/x"},
            "response": {"status": "204 No Content", "etag": "W/\"3\""}});
        assert!(is_deletion(&deletion));
        assert_eq!(version(&deletion), Some(3));
        let update = json!({"fullUrl": "http://g/fhir/Observation/x",
            "resource": {"resourceType": "Observation", "id": "x"},
            "request": {"method": "PUT", "url": "Observation/x"},
            "response": {"status": "200 OK", "etag": "W/\"2\""}});
        assert!(!is_deletion(&update));
        assert_eq!(version(&update), Some(2));
        assert!(same_version(&update, &update));
        assert!(!same_version(&update, &deletion));
        assert_eq!(version(&json!({"response": {"etag": "W/\"v\""}})), None);
    }
}
