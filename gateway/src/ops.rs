//! Operational endpoints: `/healthz`, `/readyz`, `/metrics`, and the 404 for unknown paths.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fhirgate_conformance::IssueCode;
use serde_json::json;

use crate::error::outcome;
use crate::state::AppState;

/// How long one adapter's readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: every adapter's check, concurrently; 503 listing the failing ones.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let checks = state.adapters.iter().map(|(name, adapter)| async move {
        let result = tokio::time::timeout(CHECK_TIMEOUT, adapter.check()).await;
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!(
                "check did not answer within {} s",
                CHECK_TIMEOUT.as_secs()
            )),
        };
        (name.clone(), error)
    });
    let results = futures::future::join_all(checks).await;
    let failing: Vec<_> = results
        .iter()
        .filter_map(|(name, error)| error.as_ref().map(|e| json!({"adapter": name, "error": e})))
        .collect();
    if failing.is_empty() {
        Json(json!({"status": "ready", "adapters": results.len()})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "failing": failing})),
        )
            .into_response()
    }
}

/// `GET /metrics`: Prometheus text exposition format.
pub async fn metrics() -> Response {
    let body = crate::observe::metrics_handle().render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Another method than GET (or HEAD) on `/healthz`, `/readyz` or `/metrics`: 405 with
/// `Allow: GET, HEAD` (RFC 9110 §15.5.6) and an OperationOutcome (`not-supported`), the
/// shape of the gateway's other errors outside `/fhir` (e.g. an unknown path's 404).
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    not_allowed("GET, HEAD", &method, &uri)
}

/// The 405 handler of a route served only with the methods in `allow` (e.g. `"POST"`, the
/// sandbox OAuth endpoints): `Allow: {allow}` and an OperationOutcome, as
/// [`method_not_allowed`].
pub fn allow_only(
    allow: &'static str,
) -> impl Fn(Method, Uri) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |method, uri| std::future::ready(not_allowed(allow, &method, &uri))
}

fn not_allowed(allow: &'static str, method: &Method, uri: &Uri) -> Response {
    let first = allow.split(',').next().unwrap_or(allow);
    let mut response = outcome(
        StatusCode::METHOD_NOT_ALLOWED,
        IssueCode::NotSupported,
        format!("{method} is not supported on {}: use {first}", uri.path()),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Any path outside `/fhir` and the operational endpoints.
pub async fn not_found() -> Response {
    outcome(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        "no such endpoint; the FHIR API is under /fhir",
    )
}
