//! Mounting the adapters' own HTTP endpoints (e.g. inbound NCPDP SCRIPT at `/ncpdp/script`)
//! on the gateway's router: bodies are read within `server.body_limit`, the endpoint
//! authenticates its callers itself and answers in its own protocol.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use fhirgate_adapters::Endpoint;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::state::AppState;

/// Whether `path` may be served by an adapter: absolute, and none of the gateway's own
/// paths (`/fhir…`, `/healthz`, `/readyz`, `/metrics`, `/sandbox/auth…`).
pub fn is_adapter_endpoint_path(path: &str) -> bool {
    let own = ["/fhir", "/healthz", "/readyz", "/metrics", "/sandbox/auth"];
    path.starts_with('/')
        && path.len() > 1
        && !path.contains(['{', '}', '*', '?', '#'])
        && !own
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// `routes` plus every adapter endpoint of `state`, in adapter order. A path already
/// mounted or not allowed is skipped with an error log (`serve` refuses to start on it
/// before the router is built).
pub fn mount(mut routes: Router<Arc<AppState>>, state: &AppState) -> Router<Arc<AppState>> {
    let limit = state.config.server.body_limit.as_u64();
    let mut mounted = std::collections::HashSet::new();
    for (name, adapter) in &state.adapters {
        for endpoint in adapter.endpoints() {
            let path = endpoint.path().to_owned();
            if !is_adapter_endpoint_path(&path) || !mounted.insert(path.clone()) {
                tracing::error!(adapter = %name, path = %path, "endpoint not mounted");
                continue;
            }
            routes = routes.route(
                &path,
                any(move |request: Request<Body>| serve(endpoint.clone(), limit, request)),
            );
        }
    }
    routes
}

/// Reads the body within `limit` bytes (413 beyond it, 400 when unreadable, both in the
/// endpoint's own error format: [`Endpoint::refuse`]) and calls the endpoint.
async fn serve(endpoint: Arc<dyn Endpoint>, limit: u64, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        endpoint
            .refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body exceeds {limit} bytes"),
            )
            .map(Body::from)
    };
    if declared.is_some_and(|len| len > limit) {
        return too_large();
    }
    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(_) => {
            return endpoint
                .refuse(StatusCode::BAD_REQUEST, "request body could not be read")
                .map(Body::from);
        }
    };
    endpoint
        .call(Request::from_parts(parts, bytes))
        .await
        .map(Body::from)
}
