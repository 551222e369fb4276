//! The bounds on one batch or transaction Bundle (FHIR R4 http.html §3.1.0.11), so one
//! request cannot fan out into unbounded work or an unbounded answer held in memory:
//!
//! - `server.max_bundle_entries`: a Bundle with more entries is refused whole, 413
//!   `too-long`, before any entry is authorized or run ([`check_entries`]).
//! - `rate_limits`: the Bundle is charged as its entries ([`charge_entries`]), up to the
//!   tier's burst; beyond the budget 429 before any entry runs.
//! - `server.max_answer_bytes`: a batch-response the gateway must hold (to merge refused
//!   entries in, or to filter it for a restricted caller) that is larger answers 413
//!   `too-costly` ([`bounded`]).

use fhirgate_adapters::{CollectError, FhirRequest, FhirResponse, ResponseBody};
use serde_json::Value;

use crate::error::GatewayError;
use crate::policy::principal::Caller;
use crate::state::AppState;

/// Bytes allowed per entry beyond `server.max_answer_bytes` in a batch-response: the
/// OperationOutcome of an entry the adapter refused for size (the embedded store answers
/// the entries past the limit with 413 `too-costly`, about 450 bytes each).
const REFUSAL_BYTES: usize = 1024;

/// The most bytes of a batch-response of `entries` entries held for merging or filtering:
/// `server.max_answer_bytes` plus room for the per-entry refusals past it.
pub(super) fn batch_limit(state: &AppState, entries: usize) -> usize {
    state
        .config
        .server
        .answer_limit()
        .saturating_add(entries.saturating_mul(REFUSAL_BYTES))
}

/// Refuses `bundle` (a parsed batch or transaction) with 413 `too-long` when it has more
/// entries than `server.max_bundle_entries`.
pub(super) fn check_entries(state: &AppState, bundle: &Value) -> Result<(), GatewayError> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let limit = state.config.server.max_bundle_entries;
    if entries > limit {
        tracing::info!(
            entries,
            limit,
            "Bundle over server.max_bundle_entries refused"
        );
        return Err(GatewayError::TooManyEntries { entries, limit });
    }
    Ok(())
}

/// Charges the caller's rate-limit budget for the entries of `bundle` beyond the one
/// request the rate-limit layer already counted: 429 `throttled` with `Retry-After` when
/// the budget does not cover them (nothing is run, nothing more spent). Accepted, the
/// charge's decision sets the answer's `RateLimit-Remaining` (`record_inner_charge`).
pub(super) async fn charge_entries(
    state: &AppState,
    request: &FhirRequest,
    bundle: &Value,
) -> Result<(), GatewayError> {
    let Some(limiter) = state.policy.limits.as_ref().filter(|l| l.enabled()) else {
        return Ok(());
    };
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let caller = Caller {
        principal: request.principal.clone(),
        ip: request.client_ip,
        has_credentials: true,
    };
    let client = request
        .principal
        .as_ref()
        .map(|p| p.client_id.as_str())
        .filter(|c| !c.is_empty());
    match limiter
        .charge_entries(&caller.limit_key(), client, entries)
        .await
    {
        Some(decision) if !decision.allowed => {
            metrics::counter!("fhirgate_ratelimit_refused_total").increment(1);
            tracing::info!(
                entries,
                "Bundle over the caller's rate-limit budget refused"
            );
            Err(GatewayError::Throttled {
                retry_after_seconds: decision.retry_after.as_millis().div_ceil(1000).max(1) as u64,
            })
        }
        Some(decision) => {
            // The answer's RateLimit-* headers report what is left after the entries.
            crate::policy::ratelimit::layer::record_inner_charge(decision);
            Ok(())
        }
        None => Ok(()),
    }
}

/// `answer` read into memory within `hold` bytes (from [`batch_limit`]); past it 413
/// `too-costly` naming the configured `server.max_answer_bytes`; 502 when it cannot be
/// read (`adapter` names the system behind).
pub(super) async fn bounded(
    state: &AppState,
    answer: FhirResponse,
    hold: usize,
    adapter: &str,
) -> Result<FhirResponse, GatewayError> {
    let limit = state.config.server.answer_limit();
    let FhirResponse {
        status,
        headers,
        body,
    } = answer;
    let bytes = match body {
        ResponseBody::Full(b) if b.len() > hold => Err(CollectError::TooLarge),
        body => body.collect(hold).await,
    };
    match bytes {
        Ok(bytes) => Ok(FhirResponse {
            status,
            headers,
            body: ResponseBody::Full(bytes),
        }),
        Err(CollectError::TooLarge) => Err(GatewayError::AnswerTooLarge { limit }),
        Err(CollectError::Read) => Err(GatewayError::Adapter(
            fhirgate_adapters::AdapterError::BadGateway {
                adapter: adapter.to_owned(),
                detail: "the answer to a batch could not be read".into(),
            },
        )),
    }
}
