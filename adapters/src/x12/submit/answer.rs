//! The payer's answer interchange → the one 271 [`Eligibility`] that answers our 270 (its
//! TRN*2 echoes our trace number, 005010X279A1 §1.4.7). A TA1 or 999 rejecting the 270, an
//! answer that is not X12, or one without a 271 for our trace are 502s naming what failed.

use fhirgate_mappings::x12::ack::{ImplementationAck, InterchangeAck};
use fhirgate_mappings::x12::eligibility::{self, Eligibility};
use fhirgate_mappings::x12::{Item, parse};

use crate::AdapterError;

/// Picks the 271 for `trace` out of `answer`.
///
/// Errors ([`AdapterError::BadGateway`]): not X12 or broken envelopes; a TA1 or 999 that
/// rejects the interchange; no 271; no 271 for `trace` among several.
pub(crate) fn pick(adapter: &str, answer: &[u8], trace: &str) -> Result<Eligibility, AdapterError> {
    let bad = |detail: String| AdapterError::BadGateway {
        adapter: adapter.to_owned(),
        detail,
    };
    let doc =
        parse(answer).map_err(|e| bad(format!("the payer's answer is not usable X12: {e}")))?;
    for w in &doc.warnings {
        tracing::warn!(adapter = %adapter, warning = %w, "envelope mismatch in the payer's answer");
    }
    let mut found: Vec<Eligibility> = Vec::new();
    let mut acks = Vec::new();
    for item in &doc.items {
        match item {
            Item::InterchangeAck { ta1, .. } => {
                let ack = InterchangeAck::from_segment(ta1).map_err(|e| bad(e.to_string()))?;
                if !ack.accepted() {
                    return Err(bad(format!(
                        "the payer rejected our 270: {}",
                        ack.describe()
                    )));
                }
                acks.push(ack.describe());
            }
            Item::Transaction(t) if t.id() == "999" => {
                let ack = ImplementationAck::from_transaction(t).map_err(|e| bad(e.to_string()))?;
                if !ack.accepted() {
                    return Err(bad(format!(
                        "the payer rejected our 270: {}",
                        ack.describe()
                    )));
                }
                acks.push(ack.describe());
            }
            Item::Transaction(t) if t.id() == "271" => {
                found.extend(
                    eligibility::read(t)
                        .map_err(|e| bad(format!("the payer's 271 is unusable: {e}")))?,
                );
            }
            Item::Transaction(t) => {
                return Err(bad(format!(
                    "the payer answered a {} transaction set, not a 271",
                    t.id()
                )));
            }
        }
    }
    let mut matching: Vec<Eligibility> = found
        .iter()
        .filter(|e| {
            e.patient()
                .and_then(|m| m.trace("2"))
                .is_some_and(|t| t.number == trace)
        })
        .cloned()
        .collect();
    match (matching.len(), found.len()) {
        (1, _) => Ok(matching.remove(0)),
        (0, 1) => {
            tracing::warn!(adapter = %adapter, "the payer's only 271 does not echo our trace number; using it");
            Ok(found.remove(0))
        }
        (0, 0) if acks.is_empty() => Err(bad("the payer's answer holds no 271".into())),
        (0, 0) => Err(bad(format!(
            "the payer's answer holds no 271, only: {}",
            acks.join("; ")
        ))),
        _ => Err(bad(format!(
            "the payer's answer holds {} 271 answers and none or several for our trace",
            found.len()
        ))),
    }
}
