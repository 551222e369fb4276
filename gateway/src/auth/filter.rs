//! The response post-filter: whatever the adapter answered, nothing outside the caller's
//! grants leaves the gateway. One pass over `serde_json::Value` (never typed models): a
//! single resource outside reach becomes 404; Bundle entries (searchset, history, included
//! resources, nested Bundles) outside reach are dropped, and batch/transaction-response
//! entries become `404 Not Found`. Unchanged answers are forwarded byte for byte.

use bytes::Bytes;
use fhirgate_adapters::{FhirResponse, ResponseBody};
use futures::StreamExt;
use http::header;
use serde_json::{Value, json};

use super::access::{Subject, admits};
use super::enforce::hidden;
use super::error::AuthError;
use super::scope::Permission;
use crate::error::GatewayError;

/// Largest answer the filter buffers, in bytes; larger answers to restricted callers are
/// refused rather than forwarded unchecked.
const MAX_FILTERED_BYTES: usize = 256 << 20;

/// Filters `answer` for `subject`. Callers that see everything get it untouched.
pub async fn filter(subject: &Subject, answer: FhirResponse) -> Result<FhirResponse, GatewayError> {
    if subject.sees_everything() {
        return Ok(answer);
    }
    let FhirResponse {
        status,
        mut headers,
        body,
    } = answer;
    let bytes = match body {
        ResponseBody::Full(b) => b,
        ResponseBody::Stream(mut stream) => {
            let mut buf = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk
                    .map_err(|_| GatewayError::BadRequest("the answer could not be read".into()))?;
                buf.extend_from_slice(&chunk);
                if buf.len() > MAX_FILTERED_BYTES {
                    return Err(unverifiable());
                }
            }
            Bytes::from(buf)
        }
    };
    if status == http::StatusCode::NOT_FOUND || status == http::StatusCode::GONE {
        // Every 404 looks the same to a restricted caller, whether the resource is missing,
        // withheld or deleted (410 would tell another patient's deletions apart), so ids
        // cannot be probed by comparing answers.
        return Err(GatewayError::NotFound("resource not found".into()));
    }
    if bytes.is_empty() {
        return Ok(FhirResponse {
            status,
            headers,
            body: ResponseBody::Full(bytes),
        });
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(unverifiable());
    };
    let rt = value
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let changed = match rt.as_str() {
        "" => return Err(unverifiable()),
        "OperationOutcome" => false,
        "Bundle" => filter_bundle(subject, &mut value),
        _ => {
            if !visible(subject, &rt, &value) {
                let id = value
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                tracing::info!(resource_type = %rt, "answer outside the caller's reach withheld");
                return Err(hidden(&rt, &id));
            }
            false
        }
    };
    let body = if changed {
        headers.remove(header::CONTENT_LENGTH);
        Bytes::from(value.to_string())
    } else {
        bytes
    };
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(body),
    })
}

fn unverifiable() -> GatewayError {
    GatewayError::Auth(AuthError::forbidden(
        "the answer cannot be checked against the granted scopes",
    ))
}

/// Whether `resource` of type `rt` is inside some grant of `subject`. Parameters are
/// visible when every resource they carry is.
fn visible(subject: &Subject, rt: &str, resource: &Value) -> bool {
    if rt == "OperationOutcome" {
        return true;
    }
    if rt == "Parameters" {
        return resource
            .get("parameter")
            .and_then(Value::as_array)
            .is_none_or(|ps| {
                ps.iter()
                    .all(|p| p.get("resource").is_none_or(|r| nested_visible(subject, r)))
            });
    }
    let mut grants = subject.any_grants(rt);
    if rt == "CoverageEligibilityResponse" {
        // The answer of `$submit`, which needs `c` on CoverageEligibilityRequest (DESIGN.md):
        // that grant shows the response for the same patients, never anyone else's.
        grants.extend(subject.grants("CoverageEligibilityRequest", Permission::Create));
    }
    admits(&grants, rt, resource)
}

fn nested_visible(subject: &Subject, resource: &Value) -> bool {
    let rt = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if rt == "Bundle" {
        let mut copy = resource.clone();
        return !filter_bundle(subject, &mut copy);
    }
    !rt.is_empty() && visible(subject, rt, resource)
}

/// Filters a Bundle in place; returns whether anything was removed.
fn filter_bundle(subject: &Subject, bundle: &mut Value) -> bool {
    let is_response = matches!(
        bundle.get("type").and_then(Value::as_str),
        Some("batch-response" | "transaction-response")
    );
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return false;
    };
    let mut changed = false;
    let mut kept = Vec::with_capacity(entries.len());
    for mut entry in entries.drain(..) {
        let keep = match entry.get_mut("resource") {
            // A batch/transaction-response entry answers the caller's own (authorized)
            // request entry. A searchset or history entry without a resource (a deletion)
            // cannot be checked, and would name another patient's record: dropped.
            None => is_response,
            Some(resource) => match resource.get("resourceType").and_then(Value::as_str) {
                Some("Bundle") => {
                    changed |= filter_bundle(subject, resource);
                    true
                }
                Some(rt) => {
                    let rt = rt.to_owned();
                    visible(subject, &rt, resource)
                }
                None => false,
            },
        };
        if keep {
            kept.push(entry);
        } else {
            changed = true;
            if is_response {
                kept.push(json!({"response": {"status": "404 Not Found"}}));
            }
        }
    }
    *entries = kept;
    if changed && let Some(map) = bundle.as_object_mut() {
        map.remove("total");
    }
    changed
}
