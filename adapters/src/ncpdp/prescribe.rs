//! `POST /fhir/MedicationRequest` (intent `order`, status `active`) → NewRx through the
//! outbox, two-phase: (1) the NewRx and the FHIR bodies go into the outbox as
//! `pending-store` (durable, with its MessageID), (2) the MedicationRequest and its fulfill
//! Task are written to the store, (3) the message becomes `ready` and the dispatcher is
//! woken. A crash between the steps is finished by [`super::recovery`]; a client retry with
//! the same `identifier` maps to the same id and dedupe key and creates nothing new.

use fhirgate_conformance::{Issue, IssueCode};
use fhirgate_mappings::MappingError;
use fhirgate_mappings::ncpdp::{
    Header, controlled_substance, medication_request_to_new_rx, missing_new_rx_elements,
};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::context::{Context, NEW_RX, dedupe_key};
use super::recovery::finish;
use super::resolve;
use super::state::{Core, MESSAGE_ID_SYSTEM, TASK_CODE, derived_id, now_rfc3339};
use crate::outbox::{Enqueued, MessageState, NewMessage};
use crate::outcome::{error_response, json_response, outcome_response};
use crate::{AdapterError, FhirRequest, FhirResponse};

/// NCPDP Provider ID identifier system (`Organization.identifier`).
const NCPDP_ID: &str = fhirgate_mappings::ncpdp::codes::NCPDP_ID;

/// The 422 answer listing what SCRIPT needs and the prescription lacks (nothing queued).
fn missing_answer(missing: &[fhirgate_mappings::ncpdp::MissingElement]) -> FhirResponse {
    let issues: Vec<Issue> = missing
        .iter()
        .map(|m| Issue::error(IssueCode::Required, format!("{}: {}", m.path, m.reason)).at(&m.path))
        .collect();
    outcome_response(StatusCode::UNPROCESSABLE_ENTITY, &issues)
}

/// A 422 for a mapping refusal (should not happen after the element check).
pub(crate) fn mapping_answer(e: &MappingError) -> FhirResponse {
    match e {
        MappingError::MissingElements { elements, .. } => {
            let issues: Vec<Issue> = elements
                .iter()
                .map(|m| Issue::error(IssueCode::Required, m.clone()))
                .collect();
            outcome_response(StatusCode::UNPROCESSABLE_ENTITY, &issues)
        }
        other => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::Processing,
            other.to_string(),
        ),
    }
}

/// The id `MedicationRequest.identifier` maps to (first identifier with system and value):
/// the same prescription always gets the same id.
fn id_for(mr: &Value) -> Option<(String, String, String)> {
    mr["identifier"].as_array()?.iter().find_map(|i| {
        let system = i["system"].as_str()?;
        let value = i["value"].as_str()?;
        Some((
            derived_id("rx", &[system, value]),
            system.to_owned(),
            value.to_owned(),
        ))
    })
}

/// `PrescriberOrderNumber` for MedicationRequest `id` (SCRIPT an..35): the id itself when
/// it fits, else an id derived from it.
pub(crate) fn prescriber_order_number(id: &str) -> String {
    if id.len() <= 35 {
        id.to_owned()
    } else {
        derived_id("po", &[id])
    }
}

/// The answer for a prescription accepted before: the stored MedicationRequest, 200.
pub(crate) async fn existing_answer(
    core: &Core,
    id: &str,
    base: &str,
) -> Result<FhirResponse, AdapterError> {
    match core.fhir.read("MedicationRequest", id, base).await? {
        Some(mr) => {
            let mut response = json_response(StatusCode::OK, &mr);
            if let Ok(v) = HeaderValue::from_str(&format!("{base}/MedicationRequest/{id}")) {
                response.headers.insert(header::LOCATION, v);
            }
            Ok(response)
        }
        None => Err(AdapterError::Unavailable {
            adapter: core.name.clone(),
            detail: "the prescription is accepted but not stored yet; retry".into(),
        }),
    }
}

/// The pharmacy's NCPDP ID on the resolved `dispenseRequest.performer` Organization.
fn pharmacy_id(pharmacy: &Value) -> Option<&str> {
    fhirgate_mappings::ncpdp::codes::identifier(pharmacy, NCPDP_ID)
}

/// Handles a new order; `put_id` is the id of an update-as-create (`PUT` of a new id).
pub(crate) async fn new_rx(
    core: &Core,
    req: FhirRequest,
    mut mr: Value,
    put_id: Option<String>,
) -> Result<FhirResponse, AdapterError> {
    let base = req.base_url.clone();
    let by_identifier = id_for(&mr);
    // Without an identifier a retried POST (a lost answer, a client timeout) would be a
    // second prescription the pharmacy fills again; a PUT names its id and is idempotent.
    let needs_identifier = put_id.is_none() && by_identifier.is_none();
    // A client retry of an earlier POST: the identifier already names a stored request.
    if put_id.is_none()
        && let Some((_, system, value)) = &by_identifier
    {
        let token = format!("{system}|{value}");
        let hits = core
            .fhir
            .search("MedicationRequest", &[("identifier", &token)], &base)
            .await?;
        if let Some(id) = hits.first().and_then(|h| h["id"].as_str()) {
            return existing_answer(core, id, &base).await;
        }
    }
    let id = put_id
        .or(by_identifier.map(|(id, _, _)| id))
        .unwrap_or_else(|| format!("rx-{}", uuid::Uuid::new_v4().simple()));
    mr["id"] = Value::String(id.clone());
    let key = dedupe_key(NEW_RX, &id);
    let p = resolve::prescription(core, &mr, &base).await?;
    if !core.config.controlled_substances.upstream_signs
        && let Some(reason) = controlled_substance(&p, &core.scheduled)
    {
        // Checked first: no completion of the other elements makes it sendable. EPCS
        // signing (21 CFR 1311) is out of scope: a business rule, not an authorization
        // failure of the caller, hence 422 rather than 403.
        return Ok(error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::BusinessRule,
            format!(
                "{reason}: controlled-substance prescriptions need EPCS signing, which this \
                 gateway does not do (controlled_substances.upstream_signs is false)"
            ),
        ));
    }
    let mut missing = missing_new_rx_elements(&p);
    if needs_identifier {
        missing.insert(
            0,
            fhirgate_mappings::ncpdp::MissingElement {
                path: "MedicationRequest.identifier".into(),
                reason: "an identifier with system and value (the prescriber's order number) \
                         is required, so that a retried POST creates nothing new"
                    .into(),
            },
        );
    }
    if !missing.is_empty() {
        return Ok(missing_answer(&missing));
    }
    let Some(ncpdp_id) = pharmacy_id(&p.pharmacy).map(str::to_owned) else {
        return Ok(missing_answer(&missing_new_rx_elements(&p)));
    };
    if !core.pharmacies.contains_key(&ncpdp_id) {
        return Ok(error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::BusinessRule,
            format!(
                "no pharmacy with NCPDP ID {ncpdp_id} is configured for e-prescribing \
                 (MedicationRequest.dispenseRequest.performer)"
            ),
        ));
    }
    // SCRIPT MessageID is an..35: 32 hex digits.
    let message_id = uuid::Uuid::new_v4().simple().to_string();
    let sent = now_rfc3339();
    let h = Header {
        message_id: message_id.clone(),
        sent_time: sent.clone(),
        to_ncpdp_id: ncpdp_id.clone(),
        from_id: core.config.sender_id.clone(),
        prescriber_order_number: Some(prescriber_order_number(&id)),
        ..Header::default()
    };
    let xml = match medication_request_to_new_rx(&p, &h) {
        Ok(x) => x,
        Err(e) => return Ok(mapping_answer(&e)),
    };
    let task = fulfill_task(&mr, &id, &message_id, &ncpdp_id, &sent);
    let context = Context {
        medication_request: mr,
        task,
        fulfill_task: None,
    };
    let message = NewMessage {
        dedupe_key: key,
        message_id,
        destination: ncpdp_id,
        kind: NEW_RX.into(),
        payload: xml,
        context: serde_json::to_string(&context).unwrap_or_default(),
        state: MessageState::PendingStore,
    };
    let row = match core.outbox.enqueue(message).await? {
        Enqueued::New(row) => row,
        Enqueued::Existing(row) if row.state == MessageState::PendingStore => row,
        Enqueued::Existing(_) => return existing_answer(core, &id, &base).await,
    };
    tracing::info!(adapter = %core.name, medication_request = %id, message_id = %row.message_id, pharmacy = %row.destination, "NewRx accepted into the outbox");
    finish(core, &row, &base, &req.headers).await
}

/// The Task showing the delivery of a NewRx (FHIR R4 Task: `code` fulfill, `focus` the
/// MedicationRequest, `for` its patient, `owner` the pharmacy, status `requested`).
fn fulfill_task(mr: &Value, id: &str, message_id: &str, ncpdp_id: &str, sent: &str) -> Value {
    let mut task = json!({
        "resourceType": "Task",
        "id": derived_id("task", &["fulfill", id]),
        "identifier": [{"system": MESSAGE_ID_SYSTEM, "value": message_id}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE, "code": "fulfill"}]},
        "description": format!("NewRx to pharmacy {ncpdp_id}"),
        "focus": {"reference": format!("MedicationRequest/{id}")},
        "authoredOn": sent,
        "lastModified": sent,
    });
    for (from, to) in [
        (&mr["subject"], "for"),
        (&mr["requester"], "requester"),
        (&mr["dispenseRequest"]["performer"], "owner"),
    ] {
        if let Some(r) = from["reference"].as_str() {
            task[to] = json!({"reference": r});
        }
    }
    task
}
