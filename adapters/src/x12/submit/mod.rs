//! `POST [base]/CoverageEligibilityRequest/$submit` for the eligibility adapters (`x12`,
//! `sandbox-payer`): the CoverageEligibilityRequest and what it references (read from the
//! store) → a 270 (005010X279A1) → the payer, through an [`Exchange`] → its 271 → a
//! CoverageEligibilityResponse (200).
//!
//! Answers: 200 with the CoverageEligibilityResponse, also when the payer rejects the
//! inquiry with AAA (`outcome: error` and `error[]`: a valid answer, e.g. an unknown member
//! is AAA 75); 400 for a body that is not a CoverageEligibilityRequest; 404/405 for other
//! operations or methods; 422 when the request cannot become a 270 (no Coverage for the
//! patient, no subscriber id, a provider without an NPI…). The payer's failures are
//! 502/504 ([`AdapterError`]).

mod answer;
mod gather;

use fhirgate_conformance::IssueCode;
use fhirgate_mappings::x12::eligibility::{
    self, InquiryControl, InquiryResources, ResponseContext, coverage_eligibility_request_to_270,
    eligibility_271_to_coverage_eligibility_response,
};
use fhirgate_mappings::x12::{InterchangeSpec, write_interchange};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::config::InterchangeConfig;
use crate::interaction::Interaction;
use crate::outcome::{error_response, json_response};
use crate::store_client::StoreClient;
use crate::{AdapterError, FhirRequest, FhirResponse};

/// Carries one interchange to the payer and brings its answer back.
#[async_trait::async_trait]
pub(crate) trait Exchange: Send + Sync {
    /// Sends `interchange` (a 270) and returns the answer interchange (a 271, or a TA1/999).
    /// `payload_id` identifies the exchange (CAQH CORE `PayloadID`).
    async fn exchange(
        &self,
        interchange: Vec<u8>,
        payload_id: &str,
    ) -> Result<Vec<u8>, AdapterError>;
}

/// The `$submit` flow of one adapter.
pub(crate) struct Submitter {
    /// The adapter's name (logs, errors).
    pub adapter: String,
    /// Reads of Patient, Coverage, Organization, Practitioner.
    pub store: StoreClient,
    /// ISA/GS identities and TRN originator of our 270s.
    pub interchange: InterchangeConfig,
}

/// A random number in `1..=999_999_999` (ISA13/GS06 control numbers).
pub(crate) fn control_number() -> u32 {
    let n = uuid::Uuid::new_v4().as_u128() % 999_999_999;
    u32::try_from(n).unwrap_or(0) + 1
}

/// Now as an X12 civil date-time (UTC) and a FHIR instant.
pub(crate) fn now() -> (jiff::civil::DateTime, String) {
    let t = time::OffsetDateTime::now_utc();
    let civil = jiff::civil::date(t.year() as i16, t.month() as i8, t.day() as i8).at(
        t.hour() as i8,
        t.minute() as i8,
        t.second() as i8,
        0,
    );
    let instant = t
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    (civil, instant)
}

fn refuse(
    status: StatusCode,
    code: IssueCode,
    text: impl Into<String>,
) -> Result<FhirResponse, AdapterError> {
    Ok(error_response(status, code, text))
}

impl Submitter {
    /// Answers one interaction routed to the adapter (see the module docs).
    pub async fn handle(
        &self,
        request: FhirRequest,
        exchange: &dyn Exchange,
    ) -> Result<FhirResponse, AdapterError> {
        let is_submit = request.interaction == Interaction::Operation
            && request.resource_type.as_deref() == Some("CoverageEligibilityRequest")
            && request.id.is_none()
            && request.operation.as_deref() == Some("submit");
        if !is_submit {
            return refuse(
                StatusCode::NOT_FOUND,
                IssueCode::NotSupported,
                format!(
                    "{} answers only POST CoverageEligibilityRequest/$submit",
                    self.adapter
                ),
            );
        }
        if request.method != Method::POST {
            return refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                IssueCode::NotSupported,
                "$submit takes POST",
            );
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    IssueCode::Structure,
                    "the body must be a CoverageEligibilityRequest (JSON)",
                );
            }
        };
        if body.get("resourceType").and_then(Value::as_str) != Some("CoverageEligibilityRequest") {
            return refuse(
                StatusCode::BAD_REQUEST,
                IssueCode::Invalid,
                "the body must be a CoverageEligibilityRequest",
            );
        }
        let base = request.base_url.as_str();
        let g = match self.store.gather(&body, base).await? {
            Ok(g) => g,
            Err(refusal) => return Ok(refusal),
        };
        let (created, instant) = now();
        let trace = uuid::Uuid::new_v4().simple().to_string();
        let reference = if request.request_id.is_empty() || request.request_id.len() > 50 {
            trace.clone()
        } else {
            request.request_id.clone()
        };
        let control = InquiryControl {
            reference,
            trace_number: trace.clone(),
            originator: self.interchange.trace_originator.clone(),
            created,
        };
        let resources = InquiryResources {
            request: &body,
            patient: &g.patient.0,
            coverage: &g.coverage.0,
            subscriber: g.subscriber.as_ref(),
            insurer: &g.insurer.0,
            provider: &g.provider,
        };
        let inquiry = match coverage_eligibility_request_to_270(&resources, &control) {
            Ok(e) => e,
            Err(e) => {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    IssueCode::Processing,
                    e.to_string(),
                );
            }
        };
        let spec = self.spec(created, "HS");
        let written =
            eligibility::write(&inquiry, "0001").and_then(|set| write_interchange(&spec, &[set]));
        let bytes = match written {
            Ok(b) => b,
            Err(e) => {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    IssueCode::Processing,
                    e.to_string(),
                );
            }
        };
        let answer = exchange.exchange(bytes, &trace).await?;
        let e271 = answer::pick(&self.adapter, &answer, &trace)?;
        let ctx = ResponseContext {
            id: Some(uuid::Uuid::new_v4().to_string()),
            patient: json!({"reference": format!("Patient/{}", g.patient.1)}),
            coverage: json!({"reference": format!("Coverage/{}", g.coverage.1)}),
            insurer: Some(json!({"reference": format!("Organization/{}", g.insurer.1)})),
            requestor: body.get("provider").cloned(),
            request: request_reference(&body),
            created: Some(instant),
            purpose: body
                .get("purpose")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            serviced: ["servicedDate", "servicedPeriod"]
                .into_iter()
                .find_map(|k| body.get(k).map(|v| (k.to_owned(), v.clone()))),
            sent: Some(inquiry),
        };
        let mapped =
            eligibility_271_to_coverage_eligibility_response(&e271, &ctx).map_err(|e| {
                AdapterError::BadGateway {
                    adapter: self.adapter.clone(),
                    detail: format!("the payer's 271 cannot be mapped: {e}"),
                }
            })?;
        tracing::info!(
            adapter = %self.adapter,
            trace = %trace,
            outcome = mapped.response["outcome"].as_str().unwrap_or(""),
            corrections = mapped.corrections.len(),
            "eligibility answered"
        );
        Ok(json_response(StatusCode::OK, &mapped.response))
    }

    /// The envelope of an interchange we send (ISA13/GS06 random).
    pub fn spec(&self, created: jiff::civil::DateTime, functional_id: &str) -> InterchangeSpec {
        let i = &self.interchange;
        InterchangeSpec {
            sender_qualifier: i.sender_qualifier.clone(),
            sender_id: i.sender_id.clone(),
            receiver_qualifier: i.receiver_qualifier.clone(),
            receiver_id: i.receiver_id.clone(),
            created,
            control_number: control_number(),
            usage: i.usage.chars().next().unwrap_or('T'),
            acknowledgment_requested: false,
            functional_id: functional_id.to_owned(),
            application_sender: i.application_sender.clone(),
            application_receiver: i.application_receiver.clone(),
            version: eligibility::VERSION.to_owned(),
            line_breaks: false,
        }
    }
}

/// `CoverageEligibilityResponse.request`: the request's id when it has one, else its first
/// identifier, else `None` (the mapping then uses our trace number).
fn request_reference(body: &Value) -> Option<Value> {
    if let Some(id) = body.get("id").and_then(Value::as_str) {
        return Some(json!({"reference": format!("CoverageEligibilityRequest/{id}")}));
    }
    body.pointer("/identifier/0")
        .map(|i| json!({"identifier": i}))
}
