//! Responses carrying an OperationOutcome, as adapters answer client errors.

use bytes::Bytes;
use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::{FhirResponse, ResponseBody};

/// The FHIR JSON media type, `application/fhir+json; charset=utf-8`.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A JSON response with `status`, `Content-Type: application/fhir+json` and `body`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> FhirResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(body.to_string())),
    }
}

/// A response with `status` and an OperationOutcome made of `issues`.
pub fn outcome_response(status: StatusCode, issues: &[Issue]) -> FhirResponse {
    json_response(status, &operation_outcome(issues))
}

/// A response with `status` and a single error issue.
pub fn error_response(
    status: StatusCode,
    code: IssueCode,
    diagnostics: impl Into<String>,
) -> FhirResponse {
    outcome_response(status, &[Issue::error(code, diagnostics)])
}
