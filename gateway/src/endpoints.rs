//! Mounting the adapters' own HTTP endpoints (e.g. inbound NCPDP SCRIPT at `/ncpdp/script`)
//! on the gateway's router: the endpoint checks the method and credentials from the head
//! ([`Endpoint::refuse_head`]) before anything of the body is reserved or read, then bodies
//! are read within `server.body_limit` and reserved from the buffered-body budget
//! (`server.max_buffered_request_bytes`, one caller at most its share of it) while they are
//! served; the endpoint answers in its own protocol.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::body::HttpBody;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use fhirgate_adapters::Endpoint;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::policy::admission::{BodyBudget, RETRY_AFTER_SECONDS, Refused, body_timeout};
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
    let budget = state.admission.clone();
    let mut mounted = std::collections::HashSet::new();
    for (name, adapter) in &state.adapters {
        for endpoint in adapter.endpoints() {
            let path = endpoint.path().to_owned();
            if !is_adapter_endpoint_path(&path) || !mounted.insert(path.clone()) {
                tracing::error!(adapter = %name, path = %path, "endpoint not mounted");
                continue;
            }
            let budget = budget.clone();
            routes = routes.route(
                &path,
                any(move |request: Request<Body>| {
                    serve(endpoint.clone(), limit, budget.clone(), request)
                }),
            );
        }
    }
    routes
}

/// Refuses a declared length over `limit` (413) and what the endpoint refuses from the head
/// (401, 405), reserves the body from `budget` (503 with `Retry-After` when it has no room in
/// time, 429 with `Retry-After` when the caller's share is full), reads it within `limit`
/// bytes (413 beyond it, 408 when it stopped arriving, 400 when unreadable; all in the
/// endpoint's own error format: [`Endpoint::refuse`]) and calls the endpoint.
async fn serve(
    endpoint: Arc<dyn Endpoint>,
    limit: u64,
    budget: Arc<BodyBudget>,
    request: Request<Body>,
) -> Response {
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
    // Method and credentials first: a caller the endpoint refuses from the head alone
    // reserves nothing and sends no body bytes that are read.
    if let Some(refused) = endpoint.refuse_head(&parts) {
        return refused.map(Body::from);
    }
    let claim = budget.claim(body.size_hint().exact(), body.is_end_stream());
    let admitted = if claim == 0 {
        Ok(None)
    } else {
        budget
            .admit_as(claim, budget.client_of(&parts.extensions))
            .await
    };
    // Held until the endpoint has answered.
    let _reservation = match admitted {
        Ok(reservation) => reservation,
        Err(Refused::ClientShare { share_bytes }) => {
            metrics::counter!("fhirgate_buffered_request_client_share_refused_total").increment(1);
            let reason = format!(
                "your large request bodies in progress already hold your share of the gateway's buffer (server.max_buffered_request_bytes_per_client: {share_bytes} bytes); retry in {RETRY_AFTER_SECONDS} s"
            );
            let mut response = endpoint
                .refuse(StatusCode::TOO_MANY_REQUESTS, &reason)
                .map(Body::from);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            return response;
        }
        Err(Refused::Exhausted(exhausted)) => {
            metrics::counter!("fhirgate_buffered_request_refused_total").increment(1);
            let reason = format!(
                "too many large request bodies are being processed at once (server.max_buffered_request_bytes: {} bytes); retry in {RETRY_AFTER_SECONDS} s",
                exhausted.budget_bytes
            );
            let mut response = endpoint
                .refuse(StatusCode::SERVICE_UNAVAILABLE, &reason)
                .map(Body::from);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            return response;
        }
    };
    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(e) if body_timeout(&*e).is_some() => {
            // The read-timeout layer adds `Connection: close`.
            let reason = body_timeout(&*e)
                .map(ToString::to_string)
                .unwrap_or_default();
            return endpoint
                .refuse(StatusCode::REQUEST_TIMEOUT, &reason)
                .map(Body::from);
        }
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
