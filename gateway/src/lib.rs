//! fhirgate: the FHIR R4 gateway's HTTP edge, configuration and startup.
//!
//! [`app`] builds the router (usable without a socket in tests); [`server::run`] binds,
//! prints the ready line and serves until SIGTERM.
#![forbid(unsafe_code)]

pub mod auth;
pub mod capability;
pub mod cli;
pub mod config;
pub mod edge;
pub mod endpoints;
pub mod error;
pub mod ingest;
pub mod observe;
pub mod ops;
pub mod policy;
pub mod server;
pub mod state;

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{any, get};
use fhirgate_conformance::IssueCode;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

pub use endpoints::is_adapter_endpoint_path;

/// A HEAD request under `/fhir` becomes the GET it asks about (attack finding LOW 12):
/// RFC 9110 §9.3.2 — HEAD is GET without the content, and §9.1 — a general-purpose server
/// MUST support it. The same status, `ETag`, `Last-Modified` and `Content-Length` as GET;
/// hyper, which parsed the request as HEAD, writes no body. Other paths route HEAD
/// themselves (axum's `get` serves it). A method compare per request, nothing more.
fn head_as_get(mut request: Request<axum::body::Body>) -> Request<axum::body::Body> {
    if request.method() == Method::HEAD && policy::admission::layer::fhir_path(&request).is_some() {
        *request.method_mut() = Method::GET;
    }
    request
}
pub use state::AppState;

/// The whole HTTP application for `state`: FHIR under `/fhir`, the operational endpoints,
/// and the layer stack every request passes through.
pub fn app(state: Arc<AppState>) -> Router {
    // Metrics recorded before the first scrape must not be lost.
    observe::metrics_handle();
    let sandbox = state.auth.sandbox.is_some();
    let mut routes = Router::new()
        // SMART discovery needs no token (SMART App Launch 2.x §2.1); it wins over the
        // `{*path}` catch-all because axum prefers the more specific route.
        .route(
            "/fhir/.well-known/smart-configuration",
            get(auth::discovery::smart_configuration).fallback(ops::method_not_allowed),
        )
        .route("/fhir", any(edge::handle))
        .route("/fhir/", any(edge::handle))
        .route("/fhir/{*path}", any(edge::handle))
        .route(
            "/healthz",
            get(ops::healthz).fallback(ops::method_not_allowed),
        )
        .route(
            "/readyz",
            get(ops::readyz).fallback(ops::method_not_allowed),
        )
        .route(
            "/metrics",
            get(ops::metrics).fallback(ops::method_not_allowed),
        )
        .fallback(ops::not_found);
    if sandbox {
        routes = routes.merge(auth::sandbox::router());
    }
    // Adapters' own endpoints (inbound NCPDP SCRIPT, sandbox peers): under the stack below
    // for request ids, metrics and audit, but they authenticate their callers themselves.
    let routes = endpoints::mount(routes, &state);
    let routes = routes.with_state(state.clone());
    // The stack, outermost first. Each layer's position is deliberate:
    let stack = ServiceBuilder::new()
        // 1. Request id, access log and metrics outermost: every response — errors, panics,
        //    unknown paths — carries X-Request-Id, one log line and its counters.
        .layer(axum::middleware::from_fn(observe::observe))
        // 2. Panics inside: a panicking handler still answers 500 with an OperationOutcome,
        //    and layer 1 still logs and labels it.
        .layer(CatchPanicLayer::custom(panic_response))
        // 2b. HEAD under /fhir is served as GET from here on (after layer 1 logged HEAD), so
        //     limits, audit and cache treat it as the read it is; hyper sends the answer's
        //     head without its body ([`head_as_get`]).
        .layer(tower::util::MapRequestLayer::new(
            head_as_get as fn(Request<axum::body::Body>) -> Request<axum::body::Body>,
        ))
        // 3. The edge reads bodies itself against `server.body_limit` (413 as an
        //    OperationOutcome), so axum's own 2 MB extractor limit is off.
        .layer(DefaultBodyLimit::disable())
        // 4. Identify the caller (validate the bearer token, principal into the request
        //    extensions) before any policy that keys on it. It only annotates: the edge
        //    still authenticates and answers 401/403, so authentication never fails open.
        .layer(from_fn_with_state(
            state.clone(),
            policy::principal::identify,
        ))
        // 5. Rate limits next: a throttled request costs no audit write, cache lookup or
        //    adapter call, and is keyed by the validated client (IP when anonymous).
        .layer(from_fn_with_state(
            state.clone(),
            policy::ratelimit::layer::rate_limit,
        ))
        // 6. Admission of buffered request bodies (`server.max_buffered_request_bytes`) after
        //    the rate limits, so a throttled request reserves nothing, and before audit and
        //    cache: a 503 for a spent budget costs no audit write (as a 429 does not), and
        //    every buffered read (the cache's Bundle plan, the edge) happens inside the
        //    reservation, which is held until the response is produced.
        .layer(from_fn_with_state(
            state.clone(),
            policy::admission::layer::admission,
        ))
        // 7. Audit outside the cache, so cache hits are audited too, and outside the edge,
        //    so it sees the edge's 401/403 denials; the response waits for its record.
        .layer(from_fn_with_state(
            state.clone(),
            policy::audit::layer::audit,
        ))
        // 8. Body-read timeouts (`server.body_*_timeout_seconds`) around every body reader
        //    below (the cache's Bundle plan, the edge, adapter endpoints): a stalled body is
        //    answered 408 here, inside audit so the record has the 408, and inside admission
        //    so the reservation is returned with the response.
        .layer(from_fn_with_state(
            state.clone(),
            policy::admission::read_timeout::read_timeout,
        ))
        // 9. Cache innermost before the edge: it answers only after identification,
        //    limits and audit, and sees the edge's exact answers to store or invalidate.
        .layer(from_fn_with_state(state, policy::cache::layer::cache));
    routes.layer(stack)
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail.chars().take(200).collect::<String>(), "handler panicked");
    error::outcome(
        StatusCode::INTERNAL_SERVER_ERROR,
        IssueCode::Exception,
        "internal error; see the gateway log",
    )
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_panic_answers_500_with_an_operation_outcome() {
        let response = super::panic_response(Box::new("boom"));
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["content-type"], super::error::FHIR_JSON);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let oo: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(oo["issue"][0]["code"], "exception");
        assert!(
            !oo.to_string().contains("boom"),
            "panic detail stays in the log"
        );
    }
}
