//! The body-read timeout middleware: every request body is read as a [`TimedBody`]
//! (`server.body_idle_timeout_seconds`, `server.body_read_timeout_seconds`), and a request
//! whose body timed out is answered 408 `timeout` with `Connection: close` (RFC 9110
//! §15.5.9), whichever reader hit it (the edge, the cache's Bundle plan, an adapter
//! endpoint, the sandbox authorization server).
//!
//! A wrapper rather than a timeout at each read site: one place covers every reader, present
//! and future. The readers turn the body error into their own 400, which this layer
//! replaces with the 408; readers that answer a 408 in their protocol's format themselves
//! (adapter endpoints; the sandbox authorization server's RFC 6749 §5.2 error,
//! `auth/sandbox/form.rs`) keep their answer and get `Connection: close` added.
//!
//! Any answer given while the body was not read to its end (refused from the head, broken
//! chunked framing) carries `Connection: close` too: the unread rest cannot be told from
//! the next request, so hyper closes the connection (RFC 9112 §9.6: a server that closes
//! sends `close`).

use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::timed_body::{BodyTimeouts, TimedBody};
use crate::error::GatewayError;
use crate::state::AppState;

/// The middleware (`axum::middleware::from_fn_with_state`). A request without a body (the
/// head said so: GET, `Content-Length: 0`) passes untouched.
pub async fn read_timeout(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let (idle, total) = state.config.server.body_timeouts();
    // `$ingest` streams its body for as long as readings keep coming (`ingest.max_bytes`).
    let streamed = super::layer::fhir_path(&request)
        .is_some_and(|below| crate::ingest::is_ingest(request.method(), below.trim_matches('/')));
    let limits = BodyTimeouts {
        idle,
        total: (!streamed).then_some(total),
    };
    let (parts, body) = request.into_parts();
    let body = TimedBody::new(body, limits);
    let fired = body.fired();
    let mut response = next.run(Request::from_parts(parts, Body::new(body))).await;
    let Some(timeout) = fired.get().cloned() else {
        if !fired.ended() {
            // Refused before the body was read (401, 413), or its framing was broken (400):
            // hyper closes the connection after this answer, which says so (RFC 9112 §9.6).
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return response;
    };
    metrics::counter!("fhirgate_request_body_timeouts_total").increment(1);
    tracing::info!(error = %timeout, "request body timed out");
    if response.status() != StatusCode::REQUEST_TIMEOUT {
        // The reader's own answer (400 "could not be read") becomes the 408; the audit and
        // observe layers still find the principal and labels it put in the extensions.
        let extensions = std::mem::take(response.extensions_mut());
        response = GatewayError::BodyTimeout(timeout).into_response();
        response.extensions_mut().extend(extensions);
    }
    // The rest of the body is never read: the connection cannot carry another request.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
