//! Conditional reads for callers restricted to some patients (RFC 9110 §13.1.2).
//!
//! An adapter answers `If-None-Match` with `304` before anything can look at the resource,
//! so a restricted caller could learn that another patient's record exists and its version.
//! For such callers the conditional headers are taken off the request, the full answer goes
//! through the post-filter, and only then does the gateway itself answer `304` when the
//! checked resource's ETag matches. `If-Modified-Since` is simply not honoured for them
//! (a server may always answer 200).

use bytes::Bytes;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

use crate::edge::weak_match;
use crate::error::GatewayError;

/// The client's `If-None-Match`, removed from `request` (with `If-Modified-Since`).
pub fn take(request: &mut FhirRequest) -> Option<HeaderValue> {
    request.headers.remove(header::IF_MODIFIED_SINCE);
    request.headers.remove(header::IF_NONE_MATCH)
}

/// After the post-filter: `304` when the client's `If-None-Match` matches the checked
/// answer's ETag; `404` for an instance history left without entries (as a read would be).
/// A write is never answered `304` (RFC 9110 §15.4.5: only for GET and HEAD): its answer
/// describes what was written, so a match there would tell the client nothing changed
/// when it did. `If-None-Match` is not honoured on writes, as for every other caller (the
/// store ignores it there; FHIR R4 versions updates with `If-Match`, §3.1.0.6.2).
pub fn finish(
    interaction: Interaction,
    if_none_match: Option<HeaderValue>,
    answer: FhirResponse,
) -> Result<FhirResponse, GatewayError> {
    if interaction == Interaction::HistoryInstance
        && let ResponseBody::Full(body) = &answer.body
        && serde_json::from_slice::<Value>(body).ok().is_some_and(|b| {
            b.get("entry")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
    {
        return Err(GatewayError::NotFound("resource not found".into()));
    }
    let (Some(wanted), StatusCode::OK) = (if_none_match, answer.status) else {
        return Ok(answer);
    };
    if interaction.is_write() {
        return Ok(answer);
    }
    let etag = answer
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok());
    match (wanted.to_str().ok(), etag) {
        (Some(wanted), Some(etag)) if weak_match(wanted, etag) => {
            let mut headers = HeaderMap::new();
            for name in [header::ETAG, header::LAST_MODIFIED] {
                if let Some(v) = answer.headers.get(&name) {
                    headers.insert(name, v.clone());
                }
            }
            Ok(FhirResponse {
                status: StatusCode::NOT_MODIFIED,
                headers,
                body: ResponseBody::Full(Bytes::new()),
            })
        }
        _ => Ok(answer),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn weak_etags_match_and_star_matches_all() {
        assert!(super::weak_match("W/\"1\"", "W/\"1\""));
        assert!(super::weak_match("\"1\"", "W/\"1\""));
        assert!(super::weak_match("W/\"3\", W/\"1\"", "W/\"1\""));
        assert!(super::weak_match("*", "W/\"9\""));
        assert!(!super::weak_match("W/\"2\"", "W/\"1\""));
    }
}
