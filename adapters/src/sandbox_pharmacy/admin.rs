//! The sandbox pharmacy's own control endpoints, beside its SCRIPT endpoint:
//! `GET /sandbox/pharmacy/stats` (counters as JSON) and, with `admin: true`,
//! `POST /sandbox/pharmacy/mode` (up, down, slow, error-601). Both require HTTP Basic with
//! the sandbox secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use super::config::Mode;
use super::service::{Sandbox, plain, unauthorized};
use crate::Endpoint;

/// `GET /sandbox/pharmacy/stats`.
pub(super) struct StatsEndpoint(pub(super) Arc<Sandbox>);

#[async_trait::async_trait]
impl Endpoint for StatsEndpoint {
    fn path(&self) -> &str {
        "/sandbox/pharmacy/stats"
    }

    /// Credentials, checked before the gateway reads or reserves the body.
    fn refuse_head(&self, head: &http::request::Parts) -> Option<Response<Bytes>> {
        (!self.0.authorized(&head.headers)).then(unauthorized)
    }

    async fn call(&self, request: Request<Bytes>) -> Response<Bytes> {
        let s = &self.0;
        if !s.authorized(request.headers()) {
            return unauthorized();
        }
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let body = serde_json::json!({
            "mode": s.mode().as_str(),
            "posts": n(&s.stats.posts),
            "refused_down": n(&s.stats.refused_down),
            "new_rx_received": n(&s.stats.new_rx_received),
            "repeats": n(&s.stats.repeats),
            "follow_ups_sent": n(&s.stats.follow_ups_sent),
            "distinct_new_rx": s.ledger.count("NewRx").await,
            "distinct_cancel_rx": s.ledger.count("CancelRx").await,
        });
        let mut r = Response::new(Bytes::from(body.to_string()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}

/// `POST /sandbox/pharmacy/mode` (only mounted with `admin: true`).
pub(super) struct ModeEndpoint(pub(super) Arc<Sandbox>);

#[async_trait::async_trait]
impl Endpoint for ModeEndpoint {
    fn path(&self) -> &str {
        "/sandbox/pharmacy/mode"
    }

    /// Credentials, checked before the gateway reads or reserves the body.
    fn refuse_head(&self, head: &http::request::Parts) -> Option<Response<Bytes>> {
        (!self.0.authorized(&head.headers)).then(unauthorized)
    }

    async fn call(&self, request: Request<Bytes>) -> Response<Bytes> {
        let s = &self.0;
        if !s.authorized(request.headers()) {
            return unauthorized();
        }
        if request.method() != Method::POST {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        }
        let text = String::from_utf8_lossy(request.body());
        match Mode::parse(text.trim()) {
            Some(mode) => {
                s.set_mode(mode);
                tracing::info!(adapter = %s.name, mode = mode.as_str(), "sandbox pharmacy mode switched");
                plain(StatusCode::OK, mode.as_str())
            }
            None => plain(
                StatusCode::BAD_REQUEST,
                "mode is one of up, down, slow, error-601",
            ),
        }
    }
}
