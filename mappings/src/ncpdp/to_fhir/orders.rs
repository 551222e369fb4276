//! SCRIPT prescriptions and fills → FHIR MedicationRequest, MedicationDispense and Task.

use serde_json::{Map, Value, json};

use super::super::codes::{NCI, PRESCRIBER_ORDER_NUMBER, RX_REFERENCE_NUMBER, UCUM, unit_by_nci};
use super::super::model::*;
use super::super::number::{decimal, integer};
use super::super::sig::sig_to_dosages;
use super::parties::drug_concept;

/// References among the resources of one mapped message.
#[derive(Debug, Default)]
pub struct Refs {
    /// `Patient/…`.
    pub patient: Option<String>,
    /// `Practitioner/…`.
    pub prescriber: Option<String>,
    /// `Organization/…` (pharmacy).
    pub pharmacy: Option<String>,
    /// `Medication/…`.
    pub medication: Option<String>,
    /// `Coverage/…`.
    pub coverage: Vec<String>,
    /// The related MedicationRequest (from the caller's context).
    pub related_request: Option<String>,
}

fn reference(r: &Option<String>) -> Option<Value> {
    r.as_ref().map(|r| json!({"reference": r}))
}

/// `Quantity` → FHIR Quantity: value, NCI unit code (system `http://ncimeta.nci.nih.gov`)
/// and its preferred term, lower-case, as `unit`.
pub fn quantity(q: &QuantityData) -> Option<Value> {
    let mut m = Map::new();
    m.insert("value".into(), decimal(&q.value)?);
    if let Some(code) = &q.unit_code {
        if let Some(u) = unit_by_nci(code) {
            m.insert("unit".into(), u.term.to_ascii_lowercase().into());
        }
        m.insert("system".into(), NCI.into());
        m.insert("code".into(), code.as_str().into());
    }
    Some(Value::Object(m))
}

fn days(d: &Option<String>) -> Option<Value> {
    let v = integer(d.as_deref()?)?;
    Some(json!({"value": v, "unit": "days", "system": UCUM, "code": "d"}))
}

fn identifiers(h: &ParsedHeader) -> Option<Value> {
    let mut out = Vec::new();
    if let Some(n) = &h.prescriber_order_number {
        out.push(json!({"system": PRESCRIBER_ORDER_NUMBER, "value": n}));
    }
    if let Some(n) = &h.rx_reference_number {
        out.push(json!({"system": RX_REFERENCE_NUMBER, "value": n}));
    }
    (!out.is_empty()).then(|| Value::Array(out))
}

/// MedicationRequest for `m` with `status` and `intent` (order, proposal).
pub fn medication_request(
    id: &str,
    status: &str,
    intent: &str,
    h: &ParsedHeader,
    m: &MedicationData,
    refs: &Refs,
) -> Value {
    let mut out = Map::new();
    out.insert("resourceType".into(), "MedicationRequest".into());
    out.insert("id".into(), id.into());
    if let Some(i) = identifiers(h) {
        out.insert("identifier".into(), i);
    }
    out.insert("status".into(), status.into());
    out.insert("intent".into(), intent.into());
    match &refs.medication {
        Some(r) => out.insert("medicationReference".into(), json!({"reference": r})),
        None => out.insert("medicationCodeableConcept".into(), drug_concept(m)),
    };
    // `subject` is required; a message without a patient still names one by display.
    out.insert(
        "subject".into(),
        reference(&refs.patient)
            .unwrap_or_else(|| json!({"display": "patient not named in the SCRIPT message"})),
    );
    if let Some(d) = &m.written_date {
        out.insert("authoredOn".into(), d.as_str().into());
    }
    if let Some(r) = reference(&refs.prescriber) {
        out.insert("requester".into(), r);
    }
    let indications: Vec<Value> = m
        .sig
        .iter()
        .flat_map(|s| &s.instructions)
        .filter(|i| !i.as_needed)
        .filter_map(|i| i.indication.as_ref())
        .map(|t| json!({"text": t}))
        .collect();
    if !indications.is_empty() {
        out.insert("reasonCode".into(), Value::Array(indications));
    }
    if intent == "proposal"
        && let Some(r) = reference(&refs.related_request)
    {
        out.insert("basedOn".into(), json!([r]));
    }
    if !refs.coverage.is_empty() {
        out.insert(
            "insurance".into(),
            refs.coverage
                .iter()
                .map(|c| json!({"reference": c}))
                .collect(),
        );
    }
    if let Some(n) = &m.note {
        out.insert("note".into(), json!([{"text": n}]));
    }
    if let Some(s) = &m.sig {
        let d = sig_to_dosages(s);
        if !d.is_empty() {
            out.insert("dosageInstruction".into(), Value::Array(d));
        }
    }
    let mut dr = Map::new();
    if let Some(v) = m.number_of_refills.as_deref().and_then(integer) {
        dr.insert("numberOfRepeatsAllowed".into(), v);
    }
    if let Some(q) = m.quantity.as_ref().and_then(quantity) {
        dr.insert("quantity".into(), q);
    }
    if let Some(d) = days(&m.days_supply) {
        dr.insert("expectedSupplyDuration".into(), d);
    }
    if let Some(r) = reference(&refs.pharmacy) {
        dr.insert("performer".into(), r);
    }
    if !dr.is_empty() {
        out.insert("dispenseRequest".into(), Value::Object(dr));
    }
    match m.substitutions.as_deref().map(str::trim) {
        Some("0") => out.insert("substitution".into(), json!({"allowedBoolean": true})),
        Some("1") => out.insert("substitution".into(), json!({"allowedBoolean": false})),
        _ => None,
    };
    Value::Object(out)
}

/// MedicationDispense for an RxFill: status from `FillStatus` (Dispensed,
/// PartiallyDispensed → `completed`; NotDispensed, Transferred → `declined` with the status
/// as `statusReasonCodeableConcept.text`), the dispensed (else prescribed) drug, quantity,
/// days supply, `whenHandedOver` = `LastFillDate`, `authorizingPrescription` = the related
/// MedicationRequest.
pub fn medication_dispense(id: &str, t: &RxTransaction, refs: &Refs) -> Value {
    let fill = t.fill_status.as_ref();
    let status = match fill {
        Some(FillStatus::Dispensed { .. } | FillStatus::PartiallyDispensed { .. }) => "completed",
        Some(FillStatus::NotDispensed { .. } | FillStatus::Transferred { .. }) => "declined",
        None => "unknown",
    };
    let empty = MedicationData::default();
    let m = t
        .medication_dispensed
        .as_ref()
        .or(t.medication_prescribed.as_ref())
        .unwrap_or(&empty);
    let mut out = Map::new();
    out.insert("resourceType".into(), "MedicationDispense".into());
    out.insert("id".into(), id.into());
    out.insert("status".into(), status.into());
    if status == "declined"
        && let Some(f) = fill
    {
        out.insert(
            "statusReasonCodeableConcept".into(),
            json!({"text": f.name()}),
        );
    }
    out.insert("medicationCodeableConcept".into(), drug_concept(m));
    if let Some(r) = reference(&refs.patient) {
        out.insert("subject".into(), r);
    }
    if let Some(r) = reference(&refs.pharmacy) {
        out.insert("performer".into(), json!([{"actor": r}]));
    }
    if let Some(r) = reference(&refs.related_request) {
        out.insert("authorizingPrescription".into(), json!([r]));
    }
    if let Some(q) = m.quantity.as_ref().and_then(quantity) {
        out.insert("quantity".into(), q);
    }
    if let Some(d) = days(&m.days_supply) {
        out.insert("daysSupply".into(), d);
    }
    if let Some(d) = &m.last_fill_date {
        out.insert("whenHandedOver".into(), d.as_str().into());
    }
    let notes: Vec<Value> = [fill.and_then(FillStatus::note), m.note.as_deref()]
        .into_iter()
        .flatten()
        .map(|n| json!({"text": n}))
        .collect();
    if !notes.is_empty() {
        out.insert("note".into(), Value::Array(notes));
    }
    if let Some(s) = &m.sig {
        let d = sig_to_dosages(s);
        if !d.is_empty() {
            out.insert("dosageInstruction".into(), Value::Array(d));
        }
    }
    Value::Object(out)
}

/// A Task: `code` from `task-code` (`approve` for a renewal/change request, `fulfill` for
/// a delivery), `focus`, `for`, `requester`, `owner`.
pub struct TaskParts<'a> {
    /// `Task.status`.
    pub status: &'a str,
    /// `task-code` code.
    pub code: &'a str,
    /// `Task.description`.
    pub description: String,
    /// `Task.businessStatus`.
    pub business_status: Option<Value>,
    /// `Task.focus` reference.
    pub focus: Option<String>,
    /// `Task.requester` reference.
    pub requester: Option<String>,
    /// `Task.owner` reference.
    pub owner: Option<String>,
    /// `Task.authoredOn` (the message's SentTime).
    pub authored_on: Option<String>,
    /// `Task.identifier` value (`RequestReferenceNumber` or MessageID).
    pub identifier: Option<String>,
}

/// Builds the Task.
pub fn task(id: &str, parts: TaskParts<'_>, patient: &Option<String>) -> Value {
    let mut out = Map::new();
    out.insert("resourceType".into(), "Task".into());
    out.insert("id".into(), id.into());
    if let Some(i) = parts.identifier {
        out.insert(
            "identifier".into(),
            json!([{"system": "http://fhirgate.dev/NamingSystem/ncpdp-message-id", "value": i}]),
        );
    }
    out.insert("status".into(), parts.status.into());
    if let Some(b) = parts.business_status {
        out.insert("businessStatus".into(), b);
    }
    out.insert("intent".into(), "order".into());
    out.insert(
        "code".into(),
        json!({"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": parts.code}]}),
    );
    out.insert("description".into(), parts.description.into());
    for (key, r) in [("focus", &parts.focus), ("for", patient)] {
        if let Some(v) = reference(r) {
            out.insert(key.into(), v);
        }
    }
    if let Some(a) = parts.authored_on {
        out.insert("authoredOn".into(), a.into());
    }
    for (key, r) in [("requester", &parts.requester), ("owner", &parts.owner)] {
        if let Some(v) = reference(r) {
            out.insert(key.into(), v);
        }
    }
    Value::Object(out)
}
