//! What an accepted inbound SCRIPT message changes: the Task of the message it answers
//! (Status, Error, Verify, CancelRxResponse) or the resources it maps to (RxFill,
//! RxRenewalRequest, RxChangeRequest), found through the outbox row it relates to.

use fhirgate_mappings::ncpdp::{Body, InboundContext, Message, message_to_fhir, task_update};
use serde_json::Value;

use super::Refusal;
use crate::AdapterError;
use crate::ncpdp::context::{CANCEL_RX, Context, NEW_RX, dedupe_key};
use crate::ncpdp::state::Core;
use crate::ncpdp::task;

/// The outbox message `m` answers, if it was sent to `pharmacy`.
async fn answered(
    core: &Core,
    pharmacy: &str,
    m: &Message,
) -> Result<Option<crate::outbox::Message>, AdapterError> {
    let Some(relates) = m.header.relates_to_message_id.as_deref() else {
        return Ok(None);
    };
    Ok(core
        .outbox
        .find_by_message_id(relates)
        .await?
        .filter(|row| row.destination == pharmacy))
}

/// The id of the MedicationRequest `m` is about: through `RelatesToMessageID` (a message we
/// sent) or `PrescriberOrderNumber` (our MedicationRequest id), only for prescriptions sent
/// to `pharmacy`.
async fn related_request(
    core: &Core,
    pharmacy: &str,
    m: &Message,
) -> Result<Option<String>, AdapterError> {
    if let Some(row) = answered(core, pharmacy, m).await?
        && let Some(ctx) = Context::parse(&row.context)
    {
        return Ok(Some(ctx.medication_request_id().to_owned()));
    }
    let Some(pon) = m.header.prescriber_order_number.as_deref() else {
        return Ok(None);
    };
    Ok(core
        .outbox
        .get(&dedupe_key(NEW_RX, pon))
        .await?
        .filter(|row| row.destination == pharmacy)
        .map(|_| pon.to_owned()))
}

/// Applies the pharmacy's message `m` to the prescription it is about (Task updates,
/// dispenses, renewal and change requests).
pub(super) async fn process(core: &Core, pharmacy: &str, m: &Message) -> Result<(), Refusal> {
    match &m.body {
        Body::Status(_) | Body::Error(_) | Body::Verify(_) => {
            let row = answered(core, pharmacy, m).await?.ok_or_else(|| {
                Refusal::Rejected(
                    "RelatesToMessageID names no message sent to this pharmacy".into(),
                )
            })?;
            let ctx = Context::parse(&row.context)
                .ok_or_else(|| Refusal::Rejected("unknown message".into()))?;
            apply_update(core, ctx.task_id(), m).await
        }
        Body::CancelRxResponse(_) => {
            let row = answered(core, pharmacy, m)
                .await?
                .filter(|r| r.kind == CANCEL_RX)
                .ok_or_else(|| {
                    Refusal::Rejected(
                        "RelatesToMessageID names no CancelRx sent to this pharmacy".into(),
                    )
                })?;
            let ctx = Context::parse(&row.context)
                .ok_or_else(|| Refusal::Rejected("unknown message".into()))?;
            let approved = task_update(m).is_some_and(|u| u.status == "cancelled");
            let business = task_update(m).map(|u| u.business_status);
            task::update(
                core,
                ctx.task_id(),
                if approved { "completed" } else { "rejected" },
                business,
                None,
            )
            .await?;
            if let Some(fulfill) = &ctx.fulfill_task {
                apply_update(core, fulfill, m).await?;
            }
            Ok(())
        }
        Body::RxFill(_) | Body::RxRenewalRequest(_) | Body::RxChangeRequest(_) => {
            let id = related_request(core, pharmacy, m).await?.ok_or_else(|| {
                Refusal::Rejected(
                    "no prescription sent to this pharmacy matches RelatesToMessageID or PrescriberOrderNumber".into(),
                )
            })?;
            write_resources(core, &id, m).await?;
            if matches!(m.body, Body::RxFill(_))
                && let Some(row) = core.outbox.get(&dedupe_key(NEW_RX, &id)).await?
                && let Some(ctx) = Context::parse(&row.context)
            {
                apply_update(core, ctx.task_id(), m).await?;
            }
            Ok(())
        }
        other => Err(Refusal::Rejected(format!(
            "{} is sent to pharmacies, not accepted from them",
            other.name()
        ))),
    }
}

/// Applies [`task_update`] of `m` to Task `id`.
async fn apply_update(core: &Core, id: &str, m: &Message) -> Result<(), Refusal> {
    let Some(u) = task_update(m) else {
        return Ok(());
    };
    let reason = match &m.body {
        Body::Error(_) => u.business_status["text"].as_str().map(str::to_owned),
        _ => None,
    };
    task::update(
        core,
        id,
        u.status,
        Some(u.business_status),
        reason.as_deref(),
    )
    .await?;
    Ok(())
}

/// Maps `m` to FHIR in the context of MedicationRequest `id` and writes every resource
/// (ids derive from the MessageID, so a reprocessed message rewrites the same resources).
async fn write_resources(core: &Core, id: &str, m: &Message) -> Result<(), Refusal> {
    let base = core.internal_base();
    let mr = core
        .fhir
        .read("MedicationRequest", id, &base)
        .await?
        .ok_or_else(|| Refusal::Rejected("the prescription no longer exists".into()))?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let ctx = InboundContext {
        medication_request: Some(format!("MedicationRequest/{id}")),
        patient: text(&mr["subject"]["reference"]),
        prescriber: text(&mr["requester"]["reference"]),
    };
    let mut resources = message_to_fhir(m, &ctx).map_err(|e| Refusal::Rejected(e.to_string()))?;
    // The pharmacy is the prescription's performer Organization already in the store:
    // reference it instead of storing a copy built from the message.
    if let Some(performer) = mr["dispenseRequest"]["performer"]["reference"].as_str() {
        let copies: Vec<String> = resources
            .iter()
            .filter(|r| r["resourceType"] == "Organization")
            .filter_map(|r| r["id"].as_str().map(|i| format!("Organization/{i}")))
            .filter(|r| r.ends_with("-pharmacy"))
            .collect();
        resources.retain(|r| {
            !(r["resourceType"] == "Organization"
                && r["id"].as_str().is_some_and(|i| i.ends_with("-pharmacy")))
        });
        for r in &mut resources {
            replace_references(r, &copies, performer);
        }
    }
    for r in &resources {
        core.fhir.put_ok(r, &base).await?;
        core.publish(r);
    }
    Ok(())
}

/// Rewrites every `reference` equal to one of `from` to `to`.
fn replace_references(v: &mut Value, from: &[String], to: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "reference" && child.as_str().is_some_and(|s| from.iter().any(|f| f == s)) {
                    *child = Value::String(to.to_owned());
                } else {
                    replace_references(child, from, to);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_references(i, from, to)),
        _ => {}
    }
}
