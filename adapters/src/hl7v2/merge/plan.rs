//! Which resources of an inbound message are merged into a stored one and which are
//! conditional creates.
//!
//! - The focus (the first mapped resource) of an update event (SIU S13/S14/S15/S26, ADT
//!   A08/A31/A03 …: every event not in [`NEW_EVENTS`]) is merged.
//! - The Patient of an ADT or SIU message is merged whatever the event: PID carries the
//!   sender's current demographics (HL7 v2.5.1 ch. 3 §3.4.2; the SIU patient group of ch. 10
//!   §10.4 has the same PID), so a registration (A04), an admit (A01) or a booking (S12)
//!   for a patient already stored updates that Patient, with the same field-by-field rule
//!   an A08 uses, instead of leaving the stored demographics as they were.
//! - The Patient of a result or an order (ORU, ORM, OMG, OML, RDE) is only created when
//!   missing: there PID identifies whom the result or order is for, and fhirgate does not
//!   let a lab or pharmacy feed rewrite demographics (a choice, not a rule of the standard).
//! - The Encounter of an ADT update event (A08, A03 …) whose PV1-19 (visit number, HL7
//!   v2.5.1 ch. 3 §3.4.3.19) is empty is not written at all: the visit number is the only
//!   thing our mapping identifies an encounter by (it maps no PV1-50 alternate visit id),
//!   so such a message cannot name the encounter it updates, and creating one per message
//!   (as before) filled the store with copies. The rest of the message (the Patient) is
//!   written and the message is accepted (AA). An admit or registration (A01, A04, A05)
//!   without a visit number still creates its Encounter: it announces a new one.
//! - The Appointment of an SIU update event (S13 reschedule, S14 modification, S15
//!   cancellation …) without SCH-1 (placer appointment ID) and SCH-2 (filler appointment
//!   ID) cannot be written: those two fields are how a scheduling message names its
//!   appointment (HL7 v2.5.1 ch. 10 §10.6.2 SCH, both conditional: one of them must be
//!   valued to refer to an existing appointment), so such a message identifies none, and
//!   writing it created a new Appointment per message. It is refused with AE (nothing is
//!   written), like a message missing a segment the mapping requires. An S12 (new booking)
//!   without them still creates its Appointment.

use fhirgate_mappings::hl7v2::Message;
use serde_json::Value;

use super::encounter::Pv1Participants;
use super::telecom::Owned;

/// Events whose focus resource is written as a conditional create.
pub(crate) const NEW_EVENTS: &[&str] = &[
    "S12", "A01", "A04", "A05", "R01", "O01", "O11", "O19", "O21",
];
/// Message codes whose Patient is merged on every event.
const PATIENT_MERGED: &[&str] = &["ADT", "SIU"];

/// How the resources of one message are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// An update event: the focus (the first mapped resource) is merged.
    pub update: bool,
    /// The Patient is merged too (ADT, SIU).
    pub patient: bool,
    /// The stored `Patient.telecom` contact points the message's PID replaces.
    pub telecom: Owned,
    /// The `Encounter.participant` types the message's PV1 carries or deletes.
    pub participants: Pv1Participants,
    /// An ADT update event: its Encounter is written only with an identifier (PV1-19).
    pub visit_required: bool,
    /// The trigger event of an SIU update event: its Appointment needs an identifier
    /// (SCH-1 or SCH-2), else the message is refused.
    pub appointment_id_required: Option<String>,
}

impl Plan {
    /// The plan for `msg` (MSH-9 message code and trigger event).
    pub(crate) fn of(msg: &Message) -> Self {
        let update = !NEW_EVENTS.contains(&msg.trigger_event().as_str());
        Self {
            update,
            patient: PATIENT_MERGED.contains(&msg.message_code().as_str()),
            telecom: Owned::of(msg),
            participants: Pv1Participants::of(msg),
            visit_required: update && msg.message_code() == "ADT",
            appointment_id_required: (update && msg.message_code() == "SIU")
                .then(|| msg.trigger_event()),
        }
    }

    /// Whether the mapped `resource` is left out of the write: the Encounter of an ADT
    /// update without an identifier (see the module docs).
    pub(crate) fn skips(&self, resource: &Value) -> bool {
        self.visit_required
            && resource["resourceType"] == "Encounter"
            && resource["identifier"]
                .as_array()
                .is_none_or(|ids| ids.is_empty())
    }

    /// Why the message cannot be written when `focus` (the first mapped resource) is the
    /// Appointment of an SIU update event without an identifier (see the module docs): the
    /// ACK text (MSA-3, ERR-8; no values). `None` otherwise.
    pub(crate) fn unidentified(&self, focus: &Value) -> Option<String> {
        let event = self.appointment_id_required.as_deref()?;
        let identified = focus["identifier"]
            .as_array()
            .is_some_and(|ids| !ids.is_empty());
        (focus["resourceType"] == "Appointment" && !identified).then(|| {
            format!(
                "SCH-1 (placer appointment ID) or SCH-2 (filler appointment ID) is required \
                 for an update event ({event}): the message does not identify an appointment"
            )
        })
    }

    /// Whether the `index`-th mapped resource, of type `resource_type`, is merged.
    pub(crate) fn merges(&self, index: usize, resource_type: &str) -> bool {
        (self.update && index == 0) || (self.patient && resource_type == "Patient")
    }
}

#[cfg(test)]
mod tests {
    use super::Plan;
    use fhirgate_mappings::hl7v2::{Context, message_to_fhir, parse};
    use serde_json::Value;

    /// The fixture `rel` with `edit` applied to its text: its plan and mapped resources.
    fn plan(rel: &str, edit: impl Fn(String) -> String) -> (Plan, Vec<Value>) {
        let path = format!("{}/../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
        let text = String::from_utf8(std::fs::read(path).expect("fixture")).expect("utf-8");
        let msg = parse(edit(text).as_bytes()).expect("parse");
        let mapped = message_to_fhir(&msg, &Context::default()).expect("map");
        let resources = mapped.resources.into_iter().map(|r| r.resource).collect();
        (Plan::of(&msg), resources)
    }

    /// For each fixture, the mapped resource types and whether each is merged.
    fn merged(rel: &str, edit: impl Fn(String) -> String) -> Vec<(String, bool)> {
        let (plan, resources) = plan(rel, edit);
        resources
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let rt = r["resourceType"].as_str().unwrap_or_default();
                (rt.to_owned(), plan.merges(i, rt))
            })
            .collect()
    }

    /// The resource types a fixture's message writes.
    fn written(rel: &str, edit: impl Fn(String) -> String) -> Vec<String> {
        let (plan, resources) = plan(rel, edit);
        resources
            .iter()
            .filter(|r| !plan.skips(r))
            .map(|r| r["resourceType"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn an_adt_update_without_a_visit_number_writes_no_encounter() {
        const A08: &str = "hl7v2/ADT_A08_v2.3_update_patient.hl7";
        // The A08 fixture's PV1-19 is empty.
        assert_eq!(written(A08, |t| t), ["Patient"]);
        let a03 = |t: String| t.replace("ADT^A08", "ADT^A03");
        assert_eq!(written(A08, a03), ["Patient"]);
        // With a visit number in PV1-19 the Encounter is written (and merged).
        let numbered = |t: String| t.replace("|||||||||N||A", "|||||||||N||A|V-9");
        assert_eq!(written(A08, numbered), ["Encounter", "Patient"]);
        // An admit without one still creates its Encounter.
        let a01 = |t: String| t.replace("ADT^A08", "ADT^A01");
        assert_eq!(written(A08, a01), ["Encounter", "Patient"]);
        // An admit with one (the A01 fixture's PV1-19 VN_AdmitPat1).
        let a01_fixture = "hl7v2/ADT_A01_v2.3.1_simple_admit.hl7";
        assert_eq!(written(a01_fixture, |t| t), ["Encounter", "Patient"]);
    }

    #[test]
    fn an_siu_update_without_appointment_ids_is_refused_and_an_s12_is_not() {
        const SIU: &str = "hl7v2/SIU_S12_v2.3_office_visit.hl7";
        // The fixture's SCH-1 1209 and SCH-2 13030, both emptied.
        let no_ids = |t: String| t.replace("SCH|1209|13030|", "SCH|||");
        let refusal = |edit: &dyn Fn(String) -> String| {
            let (plan, resources) = plan(SIU, edit);
            plan.unidentified(&resources[0])
        };
        for event in ["S13", "S14", "S15"] {
            let why = refusal(&|t| no_ids(t).replace("SIU^S12", &format!("SIU^{event}")));
            assert_eq!(
                why.as_deref(),
                Some(
                    format!(
                        "SCH-1 (placer appointment ID) or SCH-2 (filler appointment ID) is \
                         required for an update event ({event}): the message does not \
                         identify an appointment"
                    )
                    .as_str()
                )
            );
        }
        // An S12 without ids, and S14s with one of them, are written.
        assert_eq!(refusal(&no_ids), None);
        let s14 = |t: String| t.replace("SIU^S12", "SIU^S14");
        assert_eq!(
            refusal(&|t| s14(t).replace("SCH|1209|13030|", "SCH||13030|")),
            None
        );
        assert_eq!(
            refusal(&|t| s14(t).replace("SCH|1209|13030|", "SCH|1209||")),
            None
        );
        // An ADT update is never refused for it.
        let (plan, resources) = plan("hl7v2/ADT_A08_v2.3_update_patient.hl7", |t| t);
        assert_eq!(plan.unidentified(&resources[0]), None);
    }

    fn types(list: &[(&str, bool)]) -> Vec<(String, bool)> {
        list.iter().map(|(t, m)| ((*t).to_owned(), *m)).collect()
    }

    #[test]
    fn the_patient_of_siu_and_adt_is_merged_on_every_event_and_of_results_never() {
        let same = |t: String| t;
        assert_eq!(
            merged("hl7v2/SIU_S12_v2.3_office_visit.hl7", same),
            types(&[("Appointment", false), ("Patient", true)])
        );
        assert_eq!(
            merged("hl7v2/SIU_S12_v2.3_office_visit.hl7", |t| t
                .replace("SIU^S12", "SIU^S14")),
            types(&[("Appointment", true), ("Patient", true)])
        );
        assert_eq!(
            merged("hl7v2/ADT_A04_v2.3_redox_register.hl7", same),
            types(&[("Encounter", false), ("Patient", true)])
        );
        assert_eq!(
            merged("hl7v2/ADT_A01_v2.3.1_simple_admit.hl7", same),
            types(&[("Encounter", false), ("Patient", true)])
        );
        assert_eq!(
            merged("hl7v2/ADT_A08_v2.3_update_patient.hl7", same),
            types(&[("Encounter", true), ("Patient", true)])
        );
        let oru = merged("hl7v2/ORU_R01_v2.5.1_nist_hepatitis_panel.hl7", same);
        assert!(oru.contains(&("Patient".to_owned(), false)), "{oru:?}");
        assert!(oru.iter().all(|(_, m)| !m), "{oru:?}");
    }
}
