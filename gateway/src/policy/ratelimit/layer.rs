//! The rate-limit middleware: every request except `/healthz`, `/readyz` and `/metrics`
//! spends from its caller's budget; answers carry `RateLimit-Limit`, `RateLimit-Remaining`
//! and `RateLimit-Reset` (draft-ietf-httpapi-ratelimit-headers-07 §3); refused ones are
//! 429 with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3) and an OperationOutcome
//! (`throttled`).

use std::cell::Cell;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Decision;
use crate::error::GatewayError;
use crate::policy::principal::Caller;
use crate::state::AppState;

tokio::task_local! {
    /// The decision of a charge made inside the request (a Bundle charged by its entries,
    /// `auth::bundle_limit`), for the answer's headers.
    static INNER_CHARGE: Cell<Option<Decision>>;
}

/// Records `decision`, the charge of a Bundle's entries made while answering the current
/// request, so that the answer's `RateLimit-Remaining` and `RateLimit-Reset` report the
/// quota actually left after it (draft-ietf-httpapi-ratelimit-headers-07 §3), not the
/// request's own charge of 1. Outside the rate-limit layer it does nothing.
pub fn record_inner_charge(decision: Decision) {
    let _ = INNER_CHARGE.try_with(|c| c.set(Some(decision)));
}

fn seconds_up(d: std::time::Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    for (name, value) in [
        ("ratelimit-limit", u64::from(d.limit)),
        ("ratelimit-remaining", u64::from(d.remaining)),
        ("ratelimit-reset", seconds_up(d.reset)),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn rate_limit(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let Some(limiter) = state.policy.limits.clone().filter(|l| l.enabled()) else {
        return next.run(request).await;
    };
    if matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    let caller = Caller::of(&request);
    let client = caller
        .principal
        .as_ref()
        .map(|p| p.client_id.clone())
        .filter(|c| !c.is_empty());
    let decision = limiter.check(&caller.limit_key(), client.as_deref()).await;
    if !decision.allowed {
        metrics::counter!("fhirgate_ratelimit_refused_total").increment(1);
        let mut response = GatewayError::Throttled {
            retry_after_seconds: seconds_up(decision.retry_after).max(1),
        }
        .into_response();
        set_headers(response.headers_mut(), &decision);
        return response;
    }
    let (mut response, inner) = INNER_CHARGE
        .scope(Cell::new(None), async {
            let response = next.run(request).await;
            (response, INNER_CHARGE.with(Cell::get))
        })
        .await;
    let mut decision = decision;
    if let Some(inner) = inner.filter(|d| d.allowed) {
        // The entries' charge came after this request's own: what it left is what is left.
        decision.remaining = inner.remaining;
        decision.reset = inner.reset;
    }
    if response.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        // Refused inside (a batch charged by its entries, `auth::bundle_limit`): the budget
        // did not cover it, so report none left rather than this request's own check.
        decision.remaining = 0;
    }
    set_headers(response.headers_mut(), &decision);
    response
}
