//! Adapter answers into HTTP responses.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use fhirgate_adapters::{FhirResponse, ResponseBody};

use crate::error::FHIR_JSON;

/// Converts an adapter's answer; a JSON body without a Content-Type gets `application/fhir+json`.
pub fn into_http(answer: FhirResponse) -> Response {
    let FhirResponse {
        status,
        headers,
        body,
    } = answer;
    let has_body = matches!(&body, ResponseBody::Full(b) if !b.is_empty())
        || matches!(body, ResponseBody::Stream(_));
    let body = match body {
        ResponseBody::Full(bytes) => Body::from(bytes),
        ResponseBody::Stream(stream) => Body::from_stream(stream),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    if has_body && !response.headers().contains_key(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    }
    response
}
