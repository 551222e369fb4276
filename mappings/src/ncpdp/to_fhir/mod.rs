//! SCRIPT 2017071 message → FHIR R4 resources ([`message_to_fhir`]).
//!
//! | message | resources (first one is the main resource) |
//! |---|---|
//! | NewRx | MedicationRequest (`active`, intent `order`), Patient, Practitioner, Medication, Organization (pharmacy), Coverage per BenefitsCoordination |
//! | CancelRx | MedicationRequest `cancelled` (the prescription it repeats) + the same parties |
//! | RxRenewalRequest, RxChangeRequest | MedicationRequest intent `proposal` (status `draft`, `basedOn` the related request) + Task (`approve`, status `requested`, owner the prescriber) + parties |
//! | RxRenewalResponse, RxChangeResponse | Task (`approve`: `completed` when approved, `rejected` when denied) + MedicationRequest `active` `order` when approved |
//! | RxFill | MedicationDispense (`authorizingPrescription` = context) + parties not given by the context |
//! | Status, Error, Verify, CancelRxResponse | Task (`fulfill`, status and businessStatus from [`super::task_update`], `focus` = context) |
//!
//! **Ids and references.** Every resource gets a deterministic id
//! `<16 hex of SHA-256(MessageID)>-<role>` (roles: `medicationrequest`, `patient`,
//! `practitioner`, `medication`, `pharmacy`, `coverage-N`, `medicationdispense`, `task`), so
//! mapping the same message twice gives the same ids. References between them are relative
//! (`Patient/<id>`); references the [`InboundContext`] supplies are used as given and the
//! corresponding resource is not created.

mod orders;
mod parties;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::{Body, Message, Response, RxTransaction};
use super::prescription::InboundContext;
use super::task::task_update;
use crate::MappingError;
use orders::{Refs, TaskParts, medication_dispense, medication_request, task};

pub use orders::quantity;
pub use parties::drug_concept;

/// Builds the resources of one message.
struct Builder<'a> {
    m: &'a Message,
    base: String,
    out: Vec<Value>,
    refs: Refs,
}

impl<'a> Builder<'a> {
    fn new(m: &'a Message, ctx: &InboundContext) -> Self {
        let digest = Sha256::digest(format!("ncpdp|{}", m.header.message_id).as_bytes());
        let base: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Builder {
            m,
            base,
            out: Vec::new(),
            refs: Refs {
                patient: ctx.patient.clone(),
                prescriber: ctx.prescriber.clone(),
                related_request: ctx.medication_request.clone(),
                ..Refs::default()
            },
        }
    }

    fn id(&self, role: &str) -> String {
        format!("{}-{role}", self.base)
    }

    /// Adds Patient, Practitioner, pharmacy Organization and Coverages from `t` where the
    /// context does not name them.
    fn parties(&mut self, t: &RxTransaction) {
        if let (None, Some(p)) = (&self.refs.patient, &t.patient) {
            let id = self.id("patient");
            self.out.push(parties::patient(&id, p));
            self.refs.patient = Some(format!("Patient/{id}"));
        }
        if let (None, Some(p)) = (&self.refs.prescriber, &t.prescriber) {
            let id = self.id("practitioner");
            self.out.push(parties::practitioner(&id, p));
            self.refs.prescriber = Some(format!("Practitioner/{id}"));
        }
        if let Some(p) = &t.pharmacy {
            let id = self.id("pharmacy");
            self.out.push(parties::pharmacy(&id, p));
            self.refs.pharmacy = Some(format!("Organization/{id}"));
        }
        if let Some(patient) = self.refs.patient.clone() {
            for (n, b) in t.benefits_coordination.iter().enumerate() {
                let id = self.id(&format!("coverage-{}", n + 1));
                self.out.push(parties::coverage(&id, b, &patient));
                self.refs.coverage.push(format!("Coverage/{id}"));
            }
        }
    }

    /// Adds the MedicationRequest (and its Medication) first in the list.
    fn request(
        &mut self,
        t: &RxTransaction,
        status: &str,
        intent: &str,
        use_requested: bool,
    ) -> Option<String> {
        let med = if use_requested {
            t.medication_requested
                .first()
                .or(t.medication_prescribed.as_ref())
        } else {
            t.medication_prescribed.as_ref()
        }?;
        let med_id = self.id("medication");
        self.out.push(parties::medication(&med_id, med));
        self.refs.medication = Some(format!("Medication/{med_id}"));
        let id = self.id("medicationrequest");
        let mr = medication_request(&id, status, intent, &self.m.header, med, &self.refs);
        self.out.insert(0, mr);
        Some(format!("MedicationRequest/{id}"))
    }

    fn task(&mut self, parts: TaskParts<'_>) {
        let id = self.id("task");
        let t = task(&id, parts, &self.refs.patient);
        self.out.insert(0, t);
    }
}

fn describe_change(code: Option<&str>) -> String {
    let kind = match code {
        Some("G") => "generic substitution",
        Some("T") => "therapeutic interchange",
        Some("P") => "prior authorization",
        Some("S") => "script clarification",
        Some("D") => "drug use evaluation",
        Some("OS") => "out of stock",
        Some("U") => "prescriber authorization",
        Some(_) | None => "change",
    };
    format!("RxChangeRequest from the pharmacy: {kind}")
}

/// An inbound SCRIPT message → FHIR R4 resources (table in the module docs).
///
/// Errors: [`MappingError::Invalid`] when a NewRx, CancelRx or renewal/change request
/// carries no `MedicationPrescribed`, or an RxFill no `FillStatus`.
pub fn message_to_fhir(m: &Message, ctx: &InboundContext) -> Result<Vec<Value>, MappingError> {
    let mut b = Builder::new(m, ctx);
    let no_med = || {
        MappingError::invalid(
            "ncpdp",
            format!("{} has no MedicationPrescribed", m.body.name()),
        )
    };
    let h = &m.header;
    match &m.body {
        Body::NewRx(t) | Body::CancelRx(t) => {
            b.parties(t);
            let status = if matches!(m.body, Body::NewRx(_)) {
                "active"
            } else {
                "cancelled"
            };
            b.request(t, status, "order", false).ok_or_else(no_med)?;
            if let (Body::CancelRx(_), Some(id)) = (&m.body, ctx.medication_request.as_deref())
                && let Some(local) = id.strip_prefix("MedicationRequest/")
            {
                b.out[0]["id"] = local.into();
            }
        }
        Body::RxRenewalRequest(t) | Body::RxChangeRequest(t) => {
            b.parties(t);
            let change = matches!(m.body, Body::RxChangeRequest(_));
            let proposal = b
                .request(t, "draft", "proposal", change)
                .ok_or_else(no_med)?;
            let description = if change {
                describe_change(t.message_request_code.as_deref())
            } else {
                "RxRenewalRequest from the pharmacy: renew the prescription".to_owned()
            };
            let parts = TaskParts {
                status: "requested",
                code: "approve",
                description,
                business_status: None,
                focus: Some(proposal),
                requester: b.refs.pharmacy.clone(),
                owner: b.refs.prescriber.clone(),
                authored_on: h.sent_time.clone(),
                identifier: t
                    .request_reference_number
                    .clone()
                    .or_else(|| Some(h.message_id.clone())),
            };
            b.task(parts);
        }
        Body::RxRenewalResponse(t) | Body::RxChangeResponse(t) => {
            b.parties(t);
            let approved = matches!(
                t.response,
                Some(Response::Approved { .. } | Response::ApprovedWithChanges { .. })
            );
            let focus = if approved {
                b.request(t, "active", "order", false)
            } else {
                None
            };
            let r = t.response.as_ref();
            let parts = TaskParts {
                status: if approved { "completed" } else { "rejected" },
                code: "approve",
                description: format!(
                    "{} {}",
                    m.body.name(),
                    r.map_or("without Response", Response::name)
                ),
                business_status: r.map(|r| json!({"text": r.name()})),
                focus: focus.or_else(|| ctx.medication_request.clone()),
                requester: b.refs.prescriber.clone(),
                owner: b.refs.pharmacy.clone(),
                authored_on: h.sent_time.clone(),
                identifier: t
                    .request_reference_number
                    .clone()
                    .or_else(|| Some(h.message_id.clone())),
            };
            b.task(parts);
        }
        Body::RxFill(t) => {
            if t.fill_status.is_none() {
                return Err(MappingError::invalid("ncpdp", "RxFill has no FillStatus"));
            }
            b.parties(t);
            let id = b.id("medicationdispense");
            let d = medication_dispense(&id, t, &b.refs);
            b.out.insert(0, d);
        }
        Body::Status(_) | Body::Error(_) | Body::Verify(_) | Body::CancelRxResponse(_) => {
            let update = task_update(m);
            let parts = TaskParts {
                status: update.as_ref().map_or("received", |u| u.status),
                code: "fulfill",
                description: format!("{} from the pharmacy", m.body.name()),
                business_status: update.map(|u| u.business_status),
                focus: ctx.medication_request.clone(),
                requester: None,
                owner: None,
                authored_on: h.sent_time.clone(),
                identifier: h.relates_to_message_id.clone(),
            };
            b.task(parts);
        }
    }
    Ok(b.out)
}
