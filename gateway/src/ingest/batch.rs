//! One batch of mapped Observations → a FHIR `batch` Bundle for the Observation route's
//! adapter, each entry a conditional create (FHIR R4 §3.1.0.8 / §3.1.0.11), and its
//! `batch-response` back to one entry per reading.
//!
//! The condition is `identifier=system|value&subject=Patient/ID`: the reading's identifier
//! *within the patient's record*. Without `subject`, a reading already stored for another
//! patient (the same Open mHealth data point sent for the wrong patient first, say) would
//! answer `200 OK` with that patient's Observation, and this patient's reading would never
//! be stored. The token value is escaped as FHIR search requires (R4 §3.1.1.5.7: `\`, `,`,
//! `|`, `$`) and the whole query is percent-encoded, so an id holding `&`, `+` or `,` cannot
//! change what is searched for.

use axum::http::{HeaderValue, Method, header};
use bytes::Bytes;
use fhirgate_adapters::interaction::Target;
use fhirgate_adapters::{FhirRequest, Interaction, ResponseBody};
use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::wearables::Observation;
use serde::Serialize;
use serde_json::{Value, json};

use crate::state::AppState;

/// `value` with FHIR search's special characters escaped (R4 §3.1.1.5.7).
fn escape_search(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '|' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `ifNoneExist` query for `obs`: its identifier within its subject's record.
pub fn if_none_exist(obs: &Observation) -> String {
    let id = obs.identifier();
    let token = format!("{}|{}", escape_search(id.system), escape_search(&id.value));
    form_urlencoded::Serializer::new(String::new())
        .append_pair("identifier", &token)
        .append_pair("subject", obs.subject())
        .finish()
}

#[derive(Serialize)]
struct Request {
    method: &'static str,
    url: &'static str,
    #[serde(rename = "ifNoneExist")]
    if_none_exist: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    resource: &'a Observation,
    request: Request,
}

#[derive(Serialize)]
struct Bundle<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    entry: Vec<Entry<'a>>,
}

/// The batch Bundle for `observations`, as JSON.
pub fn bundle(observations: &[Observation]) -> Vec<u8> {
    let bundle = Bundle {
        resource_type: "Bundle",
        kind: "batch",
        entry: observations
            .iter()
            .map(|o| Entry {
                resource: o,
                request: Request {
                    method: "POST",
                    url: "Observation",
                    if_none_exist: if_none_exist(o),
                },
            })
            .collect(),
    };
    serde_json::to_vec(&bundle).unwrap_or_default()
}

/// A batch-response entry for a reading the gateway itself could not store.
pub fn failed_entry(status: &str, code: IssueCode, diagnostics: String) -> Value {
    json!({"response": {"status": status, "outcome": operation_outcome(&[Issue::error(code, diagnostics)])}})
}

/// Sends one batch through the Observation route's first adapter and returns one
/// batch-response entry per Observation, in order (`fullUrl` and `response` only). `indices`
/// are the 0-based reading numbers of `observations` (for messages).
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
    request.body = Bytes::from(bundle(observations));
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
                .map(|e| match e.get("fullUrl") {
                    Some(full) => json!({"fullUrl": full, "response": e["response"]}),
                    None => json!({"response": e["response"]}),
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

#[cfg(test)]
mod tests {
    use fhirgate_mappings::wearables::{Context, omh};

    use super::*;

    #[test]
    fn the_condition_is_the_identifier_within_the_patients_record_escaped() {
        let ctx = Context::new("p-1", None).expect("ctx");
        let point: Value = serde_json::from_str(
            r#"{"header": {"id": "a,b&c+d|e", "creation_date_time": "2020-01-01T00:00:00Z",
                "schema_id": {"namespace": "omh", "name": "heart-rate", "version": "2.0"}},
              "body": {"heart_rate": {"value": 60, "unit": "beats/min"},
                "effective_time_frame": {"date_time": "2020-01-01T00:00:00Z"}}}"#,
        )
        .expect("json");
        let obs = omh::data_point_to_observation(&point, &ctx).expect("mapped");
        let query = if_none_exist(&obs);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            vec![
                (
                    "identifier".to_owned(),
                    "https://w3id.org/openmhealth/data-point-id|a\\,b&c+d\\|e".to_owned()
                ),
                ("subject".to_owned(), "Patient/p-1".to_owned()),
            ]
        );
        let bundle: Value = serde_json::from_slice(&bundle(&[obs])).expect("bundle");
        assert_eq!(bundle["type"], "batch");
        assert_eq!(bundle["entry"][0]["request"]["ifNoneExist"], query.as_str());
        assert_eq!(
            bundle["entry"][0]["resource"]["subject"]["reference"],
            "Patient/p-1"
        );
    }
}
