//! The `$ingest` writer: takes mapped readings in source order, stores them in batches
//! ([`batch::write`]) and appends their batch-response entries to the [`Spool`] that the
//! response body streams.
//!
//! The answer (FHIR R4 `Bundle` of type `batch-response`, §3.1.0.11):
//! - One entry per reading, in source order: `201 Created` or `200 OK` (already present:
//!   same identifier in this patient's record) with `fullUrl` and `response.location`, or
//!   `400 Bad Request` with an OperationOutcome `reading N: reason`. Warnings about a reading
//!   (a Fitbit time kept at date precision for want of a zone) are `warning` issues in its
//!   `response.outcome` (R4 `Bundle.entry.response.outcome`).
//! - Then at most one entry about the request as a whole, told apart by having no
//!   `location` and diagnostics starting `request:`: `200 OK` with `warning` issues (e.g.
//!   HealthKit elements outside the mapped measures), or, when the request failed after the
//!   answer began (body over `ingest.max_bytes`, the mapper stopping), the failure's status
//!   (`413`, `500`) with an `error` issue, and any warnings after it.
//!
//! When the answer begins: with the first entry. Until then a failure is the request's own
//! status with an OperationOutcome (400 not the format, 413 too large, 503 no spool). After
//! it the status is 200 and failures become the final entry.
//!
//! A malformed input (JSON that does not parse, XML that is not well formed, HealthKit
//! without its `HealthData` root) before its first reading answers 400, in every format.
//! Found after readings were read, the readings before the defect are stored and answered
//! and the defect is refused as the next reading (`400 Bad Request`, `reading N: malformed
//! …`): the answer depends only on where the defect lies in the input, never on how much
//! of the answer was already sent (`ingest.batch_size`), and a re-send after fixing the
//! input finds the stored readings (`200 OK`) instead of storing them twice. Every reading answered is
//! stored (or refused); no reading after the cut is read, stored or answered. An answer cut
//! by a failure of the spool itself ends the HTTP body in an error, never in valid JSON.
//!
//! Memory: at most `ingest.batch_size` readings are held (the window below); refusals count
//! towards it, so an input of only bad readings is answered as it is read too.

use std::sync::Arc;

use fhirgate_adapters::FhirRequest;
use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::MappingError;
use fhirgate_mappings::wearables::Observation;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::source::SourceError;
use super::spool::Spool;
use super::{batch, issue};
use crate::error::GatewayError;
use crate::policy::cache::Touched;
use crate::state::AppState;

/// What the mapper thread sends.
// Nearly every item is a reading: boxing it would only add an allocation per reading.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// One reading and the warnings that concern it.
    Reading(Result<Observation, MappingError>, Vec<String>),
    /// The end of the input, with the warnings about the whole input, or why it failed.
    End(Result<Vec<String>, SourceError>),
    /// The body went on past `ingest.max_bytes`: every reading sent before lies wholly
    /// within the limit; nothing follows.
    Cut,
}

/// Answers readings as they come; see the module docs.
pub struct Writer {
    state: Arc<AppState>,
    request: FhirRequest,
    spool: Spool,
    /// `Some` until the answer began (or failed before it did).
    head: Option<oneshot::Sender<Result<(), GatewayError>>>,
    window: Vec<Slot>,
    /// Readings received so far.
    readings: usize,
}

#[allow(clippy::large_enum_variant)] // As for `Item`.
enum Slot {
    Store(usize, Observation, Vec<String>),
    Answered(Value),
}

/// How the request as a whole ended.
struct Ending {
    failure: Option<(&'static str, Issue, GatewayError)>,
    warnings: Vec<String>,
}

impl Writer {
    /// A writer for `request` (the authorized `$ingest`) that answers into `spool`; `head`
    /// learns when the answer begins, or the error to answer instead.
    pub fn new(
        state: Arc<AppState>,
        request: FhirRequest,
        spool: Spool,
        head: oneshot::Sender<Result<(), GatewayError>>,
    ) -> Self {
        Self {
            state,
            request,
            spool,
            head: Some(head),
            window: Vec::new(),
            readings: 0,
        }
    }

    /// Consumes the mapper's items until the end, then completes the answer.
    pub async fn run(mut self, mut items: mpsc::Receiver<Item>) {
        let limit = self.state.config.ingest.max_bytes.as_u64();
        let batch_size = self.state.config.ingest.batch_size;
        let mut ending = Ending {
            failure: None,
            warnings: Vec::new(),
        };
        loop {
            match items.recv().await {
                Some(Item::Cut) => {
                    ending.failure = Some((
                        "413 Payload Too Large",
                        Issue::error(
                            IssueCode::TooLong,
                            format!(
                                "request: the body exceeds ingest.max_bytes ({limit} bytes); the readings answered above lie within the limit, nothing after them was read or stored"
                            ),
                        ),
                        GatewayError::PayloadTooLarge { limit },
                    ));
                    break;
                }
                Some(Item::Reading(Ok(obs), warnings)) => {
                    self.window.push(Slot::Store(self.readings, obs, warnings));
                    self.readings += 1;
                }
                Some(Item::Reading(Err(e), warnings)) => {
                    self.window
                        .push(Slot::Answered(refused(self.readings, &e, &warnings)));
                    self.readings += 1;
                }
                Some(Item::End(Ok(warnings))) => {
                    ending.warnings = warnings;
                    break;
                }
                Some(Item::End(Err(SourceError::Mapping(e)))) => {
                    if self.readings == 0 {
                        ending.failure = Some((
                            "400 Bad Request",
                            issue::refused(0, &e),
                            GatewayError::BadRequest(e.to_string()),
                        ));
                    } else {
                        // The input broke after some readings: the next one is refused.
                        self.window
                            .push(Slot::Answered(refused(self.readings, &e, &[])));
                    }
                    break;
                }
                Some(Item::End(Err(SourceError::Sink(e)))) => {
                    ending.failure = Some(stopped(&e));
                    break;
                }
                None => {
                    ending.failure = Some(stopped("the mapper stopped"));
                    break;
                }
            }
            if self.window.len() >= batch_size && !self.flush().await {
                return;
            }
        }
        drop(items);
        if !self.flush().await {
            return;
        }
        self.finish(ending).await;
    }

    /// Stores the window's readings and appends its entries; `false` when the answer failed.
    async fn flush(&mut self) -> bool {
        if self.window.is_empty() {
            return true;
        }
        let (mut indices, mut observations) = (Vec::new(), Vec::new());
        // The window in order, each reading to store replaced by its number and warnings.
        let window: Vec<Result<Value, (usize, Vec<String>)>> = std::mem::take(&mut self.window)
            .into_iter()
            .map(|slot| match slot {
                Slot::Answered(entry) => Ok(entry),
                Slot::Store(i, obs, warnings) => {
                    indices.push(i);
                    observations.push(obs);
                    Err((i, warnings))
                }
            })
            .collect();
        let mut stored = if observations.is_empty() {
            Vec::new()
        } else {
            let answers = batch::write(&self.state, &self.request, &observations, &indices).await;
            if let Some(cache) = &self.state.policy.cache {
                // The edge's cache layer invalidates when the answer begins; readings stored
                // after that must invalidate too.
                cache
                    .invalidate(&[Touched::Type("Observation".into(), None)])
                    .await;
            }
            answers
        }
        .into_iter();
        let mut out = Vec::with_capacity(window.len() * 160);
        for slot in window {
            let entry = match slot {
                Ok(entry) => entry,
                Err((i, warnings)) => {
                    let mut entry = stored.next().unwrap_or(Value::Null);
                    if !warnings.is_empty() {
                        add_warnings(&mut entry, i, &warnings);
                    }
                    entry
                }
            };
            self.push_entry(&mut out, &entry);
        }
        self.append(out).await
    }

    fn push_entry(&self, out: &mut Vec<u8>, entry: &Value) {
        let first = self.head.is_some() && out.is_empty();
        out.extend_from_slice(if first {
            br#"{"resourceType":"Bundle","type":"batch-response","entry":["#
        } else {
            b","
        });
        let _ = serde_json::to_writer(&mut *out, entry);
    }

    /// Appends `bytes`; the first append begins the answer.
    async fn append(&mut self, bytes: Vec<u8>) -> bool {
        if let Err(e) = self.spool.append(bytes).await {
            tracing::warn!(error = %e, "ingest answer could not be spooled");
            if let Some(head) = self.head.take() {
                let _ = head.send(Err(unavailable()));
            }
            return false;
        }
        if let Some(head) = self.head.take() {
            let _ = head.send(Ok(()));
        }
        true
    }

    async fn finish(mut self, ending: Ending) {
        let Ending { failure, warnings } = ending;
        let warning_issues = warnings
            .iter()
            .map(|w| Issue::warning(IssueCode::Informational, format!("request: {w}")));
        if self.head.is_some() {
            // Nothing answered yet: the request's own status.
            let error = match failure {
                Some((_, _, error)) => error,
                None if self.readings == 0 => {
                    GatewayError::BadRequest("the body holds no readings".into())
                }
                None => stopped("no reading was answered").2,
            };
            if let Some(head) = self.head.take() {
                let _ = head.send(Err(error));
            }
            return;
        }
        let mut out = Vec::new();
        let last = match failure {
            Some((status, issue, _)) => {
                let mut issues = vec![issue];
                issues.extend(warning_issues);
                Some((status, issues))
            }
            None if !warnings.is_empty() => Some(("200 OK", warning_issues.collect())),
            None => None,
        };
        if let Some((status, issues)) = last {
            let entry =
                json!({"response": {"status": status, "outcome": operation_outcome(&issues)}});
            out.push(b',');
            let _ = serde_json::to_writer(&mut out, &entry);
        }
        out.extend_from_slice(b"]}");
        if self.append(out).await {
            self.spool.finish();
        }
    }
}

/// The entry of a refused reading: its error, then the warnings about it.
fn refused(index: usize, e: &MappingError, warnings: &[String]) -> Value {
    let mut issues = vec![issue::refused(index, e)];
    issues.extend(warnings.iter().map(|w| {
        Issue::warning(
            IssueCode::Informational,
            format!("reading {}: {w}", index + 1),
        )
    }));
    json!({"response": {"status": "400 Bad Request", "outcome": operation_outcome(&issues)}})
}

/// Adds `warnings` about reading `index` to `entry.response.outcome` (creating it).
fn add_warnings(entry: &mut Value, index: usize, warnings: &[String]) {
    let issues: Vec<Issue> = warnings
        .iter()
        .map(|w| {
            Issue::warning(
                IssueCode::Informational,
                format!("reading {}: {w}", index + 1),
            )
        })
        .collect();
    let outcome = operation_outcome(&issues);
    let response = &mut entry["response"];
    match response.get_mut("outcome").and_then(|o| o.get_mut("issue")) {
        Some(Value::Array(existing)) => {
            if let Some(Value::Array(more)) = outcome.get("issue") {
                existing.extend(more.iter().cloned());
            }
        }
        _ => response["outcome"] = outcome,
    }
}

fn stopped(why: &str) -> (&'static str, Issue, GatewayError) {
    (
        "500 Internal Server Error",
        Issue::error(IssueCode::Exception, format!("request: {why}")),
        GatewayError::Adapter(unavailable_error(why)),
    )
}

fn unavailable_error(detail: &str) -> fhirgate_adapters::AdapterError {
    fhirgate_adapters::AdapterError::Unavailable {
        adapter: "ingest".into(),
        detail: detail.into(),
    }
}

fn unavailable() -> GatewayError {
    GatewayError::Adapter(unavailable_error("the answer could not be spooled"))
}
