//! One batch of mapped Observations → a FHIR `batch` Bundle for the Observation route's
//! adapter, each entry a conditional create (`ifNoneExist: identifier=system|value`, FHIR
//! R4 §3.1.0.8 / §3.1.0.11), and its `batch-response` back to one entry per reading.

use axum::http::{HeaderValue, Method, header};
use bytes::Bytes;
use fhirgate_adapters::interaction::Target;
use fhirgate_adapters::{FhirRequest, Interaction, ResponseBody};
use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::wearables::Observation;
use serde_json::{Value, json};

use crate::state::AppState;

/// The `ifNoneExist` search for an Observation's identifier.
pub fn if_none_exist(obs: &Observation) -> String {
    let id = obs.identifier();
    format!("identifier={}|{}", id.system, id.value)
}

/// The batch Bundle for `observations`.
pub fn bundle(observations: &[Observation]) -> Value {
    let entries: Vec<Value> = observations
        .iter()
        .map(|o| {
            json!({"resource": o.to_value(), "request": {"method": "POST", "url": "Observation", "ifNoneExist": if_none_exist(o)}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "batch", "entry": entries})
}

/// A batch-response entry for a reading the gateway itself could not store.
pub fn failed_entry(status: &str, code: IssueCode, diagnostics: String) -> Value {
    json!({"response": {"status": status, "outcome": operation_outcome(&[Issue::error(code, diagnostics)])}})
}

/// Sends one batch through the Observation route's first adapter and returns one
/// batch-response entry per Observation, in order. `indices` are the 0-based reading
/// numbers of `observations` (for messages).
pub async fn write(
    state: &AppState,
    template: &FhirRequest,
    observations: &[Observation],
    indices: &[usize],
) -> Vec<Value> {
    let fail = |status: &str, code, why: &str| {
        indices
            .iter()
            .map(|i| failed_entry(status, code, format!("reading {}: {why}", i + 1)))
            .collect::<Vec<_>>()
    };
    let Some(adapter) = state
        .route(Some("Observation"), Interaction::Create)
        .and_then(|r| r.first())
    else {
        return fail(
            "404 Not Found",
            IssueCode::NotFound,
            "no route serves create on Observation",
        );
    };
    let target = Target {
        interaction: Interaction::Batch,
        resource_type: None,
        id: None,
        version_id: None,
        operation: None,
    };
    let mut request = FhirRequest::new(Method::POST, target, template.base_url.clone());
    request.request_id = template.request_id.clone();
    request.principal = template.principal.clone();
    request.client_ip = template.client_ip;
    request.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    request.body = Bytes::from(bundle(observations).to_string());
    let answer = match adapter.handle(request).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(adapter = %adapter.name(), error = %e, "ingest batch failed");
            return fail(
                "502 Bad Gateway",
                IssueCode::Exception,
                "the Observation store could not be reached",
            );
        }
    };
    let body = match answer.body {
        ResponseBody::Full(b) => b,
        ResponseBody::Stream(_) => Bytes::new(),
    };
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match parsed["entry"].as_array() {
        Some(entries) if answer.status.is_success() && entries.len() == observations.len() => {
            entries
                .iter()
                .map(|e| {
                    let mut out = json!({"response": e["response"].clone()});
                    if let Some(full) = e.get("fullUrl") {
                        out["fullUrl"] = full.clone();
                    }
                    out
                })
                .collect()
        }
        _ => {
            tracing::warn!(adapter = %adapter.name(), status = answer.status.as_u16(), "ingest batch refused");
            fail(
                "502 Bad Gateway",
                IssueCode::Exception,
                "the Observation store refused the batch",
            )
        }
    }
}
