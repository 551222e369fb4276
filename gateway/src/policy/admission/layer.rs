//! The admission middleware for the FHIR API under `/fhir`: a request with a body reserves
//! it from the [`BodyBudget`] (see [`BodyBudget::claim`]) before any inner layer reads it,
//! and answers 503 `throttled` with `Retry-After` (RFC 9110 §15.6.4, §10.2.3) when the budget
//! has no room within [`super::ADMISSION_WAIT`], and 429 `throttled` with `Retry-After` at
//! once (RFC 6585 §4) when the caller's own requests already hold its share
//! (`server.max_buffered_request_bytes_per_client`, [`BodyBudget::admit_as`]). A request
//! whose token's scopes cannot allow its interaction reserves nothing
//! ([`super::head_denial`]). Adapter endpoints reserve in [`crate::endpoints`], after their
//! own credential check, where refusals take the endpoint's own format.

use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{BodyBudget, RETRY_AFTER_SECONDS, Refused};
use crate::auth::Identity;
use crate::error::GatewayError;
use crate::state::AppState;

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn admission(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let bytes = claim(&state.admission, &request);
    let admitted = if bytes == 0 {
        Ok(None)
    } else {
        let client = state.admission.client_of(request.extensions());
        state.admission.admit_as(bytes, client).await
    };
    match admitted {
        Ok(reservation) => {
            let response = next.run(request).await;
            // Held until here: the body and its parsed copies are gone with the handler.
            drop(reservation);
            response
        }
        Err(Refused::ClientShare { share_bytes }) => {
            metrics::counter!("fhirgate_buffered_request_client_share_refused_total").increment(1);
            tracing::warn!(
                bytes,
                share_bytes,
                "request refused: the client's buffered request bodies at its share"
            );
            GatewayError::BodyShareExhausted {
                share_bytes,
                retry_after_seconds: RETRY_AFTER_SECONDS,
            }
            .into_response()
        }
        Err(Refused::Exhausted(exhausted)) => {
            metrics::counter!("fhirgate_buffered_request_refused_total").increment(1);
            tracing::warn!(
                bytes,
                budget_bytes = exhausted.budget_bytes,
                "request refused: buffered request bodies at the budget"
            );
            GatewayError::BodyBudgetExhausted {
                budget_bytes: exhausted.budget_bytes,
                retry_after_seconds: RETRY_AFTER_SECONDS,
            }
            .into_response()
        }
    }
}

/// Bytes `request` reserves: none outside `/fhir` and for `$ingest` (streamed under
/// `ingest.max_bytes`, never buffered whole), none for a request its head already refuses
/// ([`super::head_denial`]: the edge answers it 403 before reading its body), else
/// [`BodyBudget::claim`] of its body.
pub(super) fn claim(budget: &BodyBudget, request: &Request<Body>) -> u64 {
    let Some(below) = fhir_path(request) else {
        return 0;
    };
    let below = below.trim_matches('/');
    if crate::ingest::is_ingest(request.method(), below) {
        return 0;
    }
    let body = request.body();
    let bytes = budget.claim(body.size_hint().exact(), body.is_end_stream());
    if bytes > 0
        && let Some(identity) = request.extensions().get::<Arc<Identity>>()
        && super::head_denial(identity, request.method(), below).is_some()
    {
        return 0;
    }
    bytes
}

/// The path below `/fhir` (empty or starting with `/`), `None` outside the FHIR API.
pub(crate) fn fhir_path<B>(request: &Request<B>) -> Option<&str> {
    request
        .uri()
        .path()
        .strip_prefix("/fhir")
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}
