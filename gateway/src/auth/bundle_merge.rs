//! The answer to a batch whose entries were partly refused (FHIR R4 §3.1.0.11.1): the
//! refused entries' own answers, the gateway's `batch-response` when nothing was forwarded,
//! and the merge of the adapter's answers to the forwarded entries into their places.

use bytes::Bytes;
use fhirgate_adapters::{AdapterError, FhirResponse, Interaction, ResponseBody};
use fhirgate_conformance::{Issue, operation_outcome};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::bundle_limit;
use crate::error::{FHIR_JSON, GatewayError};
use crate::state::AppState;

/// The `batch-response` entry for a refused entry: the status and OperationOutcome the
/// same request alone would be answered with (`crate::error`), no resource.
pub(super) fn refused_answer(error: &GatewayError) -> Value {
    let (status, code) = error.status_and_code();
    let outcome = operation_outcome(&[Issue::error(code, error.to_string())]);
    json!({"response": {"status": status_line(status), "outcome": outcome}})
}

/// `403 Forbidden`: `Bundle.entry.response.status` (FHIR R4 §3.1.0.11.1).
fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// A 200 `batch-response` of `entries`, answered by the gateway itself.
pub(super) fn batch_response(entries: Vec<Value>) -> FhirResponse {
    let body = json!({"resourceType": "Bundle", "type": "batch-response", "entry": entries});
    let mut headers = http::HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    FhirResponse {
        status: StatusCode::OK,
        headers,
        body: ResponseBody::Full(Bytes::from(body.to_string())),
    }
}

/// Places the adapter's answers to the `forwarded` entries into the slots left `None`.
/// An error status of the whole reduced batch is the client's answer as it stands. An
/// answer over `limit` bytes is not merged: 413 `too-costly`.
pub(super) async fn merge(
    state: &AppState,
    answer: FhirResponse,
    slots: Vec<Option<Value>>,
    forwarded: usize,
    adapter: &str,
    limit: usize,
) -> Result<FhirResponse, GatewayError> {
    if !answer.status.is_success() {
        return Ok(answer);
    }
    let bad = |detail: &str| {
        GatewayError::Adapter(AdapterError::BadGateway {
            adapter: adapter.to_owned(),
            detail: format!("the answer to a batch {detail}"),
        })
    };
    let FhirResponse {
        status,
        mut headers,
        body,
    } = bundle_limit::bounded(state, answer, limit, adapter).await?;
    let bytes = body
        .collect(limit)
        .await
        .map_err(|_| bad("could not be read"))?;
    let mut response: Value = serde_json::from_slice(&bytes).map_err(|_| bad("is not JSON"))?;
    if response.get("resourceType").and_then(Value::as_str) != Some("Bundle")
        || response.get("type").and_then(Value::as_str) != Some("batch-response")
    {
        return Err(bad("is not a batch-response Bundle"));
    }
    let answers = match response.get_mut("entry").and_then(Value::as_array_mut) {
        Some(entries) => std::mem::take(entries),
        None => Vec::new(),
    };
    if answers.len() != forwarded {
        return Err(bad(&format!(
            "has {} entries for {forwarded} requests",
            answers.len()
        )));
    }
    let mut answers = answers.into_iter().enumerate();
    let merged: Vec<Value> = slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| {
            slot.or_else(|| {
                answers.next().map(|(sent, mut answer)| {
                    renumber(&mut answer, sent, index);
                    answer
                })
            })
            .unwrap_or(Value::Null)
        })
        .collect();
    response["entry"] = Value::Array(merged);
    headers.remove(header::CONTENT_LENGTH);
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(response.to_string())),
    })
}

/// The adapter numbered the entries of the reduced batch it was sent: `Bundle.entry[sent]`
/// in an entry's OperationOutcome becomes the client's `Bundle.entry[index]`.
fn renumber(answer: &mut Value, sent: usize, index: usize) {
    if sent == index {
        return;
    }
    let (from, to) = (
        format!("Bundle.entry[{sent}]"),
        format!("Bundle.entry[{index}]"),
    );
    let Some(issues) = answer
        .pointer_mut("/response/outcome/issue")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for issue in issues {
        if let Some(Value::String(d)) = issue.get_mut("diagnostics") {
            *d = d.replace(&from, &to);
        }
        if let Some(Value::Array(paths)) = issue.get_mut("expression") {
            for path in paths.iter_mut() {
                if let Value::String(p) = path
                    && let Some(rest) = p.strip_prefix(&from)
                {
                    *p = format!("{to}{rest}");
                }
            }
        }
    }
}

/// The adapter that serves batches, for a 502's context.
pub(super) fn adapter_name(state: &AppState) -> String {
    state
        .route(None, Interaction::Batch)
        .and_then(|a| a.first())
        .map_or_else(|| "batch".to_owned(), |a| a.name().to_owned())
}
