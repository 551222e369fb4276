//! `PUT /fhir/MedicationRequest/{id}` with status `cancelled` or `stopped` for a
//! prescription sent as NewRx → CancelRx (its own MessageID, `RelatesToMessageID` the
//! NewRx's) through the same two-phase outbox, with an `abort` Task tracking it.

use fhirgate_mappings::ncpdp::{Header, medication_request_to_cancel_rx};
use serde_json::{Value, json};

use super::context::{CANCEL_RX, Context, NEW_RX, dedupe_key};
use super::prescribe::{mapping_answer, prescriber_order_number};
use super::recovery::finish;
use super::resolve;
use super::state::{Core, MESSAGE_ID_SYSTEM, TASK_CODE, derived_id, now_rfc3339};
use crate::outbox::{Enqueued, MessageState, NewMessage};
use crate::{AdapterError, FhirRequest, FhirResponse};

/// Handles the update; requests for prescriptions never sent (or refused by the pharmacy),
/// and repeats of a cancellation already queued, pass through to the store.
pub(crate) async fn cancel_rx(
    core: &Core,
    req: FhirRequest,
    mut mr: Value,
    id: String,
) -> Result<FhirResponse, AdapterError> {
    let base = req.base_url.clone();
    let pass = |req: FhirRequest| core.fhir.store.handle(req);
    let Some(new_rx) = core.outbox.get(&dedupe_key(NEW_RX, &id)).await? else {
        return pass(req).await;
    };
    if new_rx.state == MessageState::Failed {
        return pass(req).await;
    }
    let key = dedupe_key(CANCEL_RX, &id);
    if let Some(row) = core.outbox.get(&key).await? {
        return match row.state {
            MessageState::PendingStore => finish(core, &row, &base, &req.headers).await,
            _ => pass(req).await,
        };
    }
    mr["id"] = Value::String(id.clone());
    let p = resolve::prescription(core, &mr, &base).await?;
    // SCRIPT MessageID is an..35: 32 hex digits.
    let message_id = uuid::Uuid::new_v4().simple().to_string();
    let sent = now_rfc3339();
    let h = Header {
        message_id: message_id.clone(),
        relates_to_message_id: Some(new_rx.message_id.clone()),
        sent_time: sent.clone(),
        to_ncpdp_id: new_rx.destination.clone(),
        from_id: core.config.sender_id.clone(),
        prescriber_order_number: Some(prescriber_order_number(&id)),
        ..Header::default()
    };
    let xml = match medication_request_to_cancel_rx(&p, &h) {
        Ok(x) => x,
        Err(e) => return Ok(mapping_answer(&e)),
    };
    let fulfill = Context::parse(&new_rx.context).map(|c| c.task_id().to_owned());
    let mut task = json!({
        "resourceType": "Task",
        "id": derived_id("task", &["abort", &id]),
        "identifier": [{"system": MESSAGE_ID_SYSTEM, "value": message_id}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE, "code": "abort"}]},
        "description": format!("CancelRx to pharmacy {}", new_rx.destination),
        "focus": {"reference": format!("MedicationRequest/{id}")},
        "authoredOn": sent,
        "lastModified": sent,
    });
    if let Some(r) = mr["subject"]["reference"].as_str() {
        task["for"] = json!({"reference": r});
    }
    let context = Context {
        medication_request: mr,
        task,
        fulfill_task: fulfill,
    };
    let message = NewMessage {
        dedupe_key: key,
        message_id,
        destination: new_rx.destination.clone(),
        kind: CANCEL_RX.into(),
        payload: xml,
        context: serde_json::to_string(&context).unwrap_or_default(),
        state: MessageState::PendingStore,
    };
    let row = match core.outbox.enqueue(message).await? {
        Enqueued::New(row) => row,
        Enqueued::Existing(row) if row.state == MessageState::PendingStore => row,
        Enqueued::Existing(_) => return pass(req).await,
    };
    tracing::info!(adapter = %core.name, medication_request = %id, message_id = %row.message_id, "CancelRx accepted into the outbox");
    finish(core, &row, &base, &req.headers).await
}
