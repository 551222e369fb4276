//! Shared helpers of the `fhir_*` integration tests: Node peers, a recording upstream,
//! request builders and body readers.
#![allow(dead_code)]

pub mod peers;
pub mod recorder;

use fhirgate_adapters::fhir::{FhirAdapter, FhirConfig};
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{FhirRequest, FhirResponse, ResponseBody};
use futures::TryStreamExt;
use http::{HeaderValue, Method};

/// The gateway's public base used by every test request.
pub const PUBLIC_BASE: &str = "https://gw.example.org/fhir";

/// A `kind: fhir` adapter built from the JSON form of its YAML settings.
pub fn adapter(settings: serde_json::Value) -> FhirAdapter {
    let config: FhirConfig = serde_json::from_value(settings).expect("valid fhir settings");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    FhirAdapter::new("ehr", &config).expect("adapter builds")
}

/// A request for `method` and `path` (relative to the FHIR base, may include `?query`,
/// which is kept as `raw_query` and decoded into `query`).
pub fn request(method: Method, path_and_query: &str) -> FhirRequest {
    let (path, raw_query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (path_and_query, None),
    };
    let target = parse_target(&method, path).expect("valid FHIR path");
    let mut req = FhirRequest::new(method, target, PUBLIC_BASE);
    if let Some(q) = &raw_query {
        req.query = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    }
    req.raw_query = raw_query;
    req.request_id = "req-0001".into();
    req
}

/// `request` with a JSON body and `Content-Type: application/fhir+json`.
pub fn with_json(mut req: FhirRequest, body: &serde_json::Value) -> FhirRequest {
    req.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    req.body = body.to_string().into();
    req
}

/// The whole body of a response, whether buffered or streamed.
pub async fn body_bytes(response: FhirResponse) -> Vec<u8> {
    match response.body {
        ResponseBody::Full(b) => b.to_vec(),
        ResponseBody::Stream(s) => s
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await
            .expect("stream completes"),
    }
}

/// The body parsed as JSON.
pub async fn body_json(response: FhirResponse) -> serde_json::Value {
    let bytes = body_bytes(response).await;
    serde_json::from_slice(&bytes).expect("JSON body")
}

/// A response header as a string.
pub fn header<'a>(response: &'a FhirResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|v| v.to_str().ok())
}
