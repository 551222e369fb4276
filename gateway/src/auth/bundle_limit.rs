//! The bounds on one batch or transaction Bundle (FHIR R4 http.html §3.1.0.11), so one
//! request cannot fan out into unbounded work or an unbounded answer held in memory:
//!
//! - `server.max_bundle_entries`: a Bundle with more entries is refused whole, 413
//!   `too-long`, before any entry is authorized or run ([`check_entries`]).
//! - `server.max_answer_bytes`: a batch-response the gateway must hold (to merge refused
//!   entries in, or to filter it for a restricted caller) that is larger answers 413
//!   `too-costly` ([`bounded`]).

use fhirgate_adapters::{CollectError, FhirResponse, ResponseBody};
use serde_json::Value;

use crate::error::GatewayError;
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
