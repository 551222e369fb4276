//! The elements SCRIPT 2017071 requires in a NewRx, checked on the FHIR side before a
//! prescription is queued (issue 7 item 3): prescriber NPI, name and address; patient name,
//! birth date and gender; drug description; quantity and unit; sig; written date; pharmacy
//! NCPDP ID. Each finding names the FHIR element, never a patient's value.

use serde_json::Value;

use super::codes::{NCPDP_ID, NPI, identifier, unit_of_quantity};
use super::fhir::{self, npi_valid};
use super::outbound::days_supply;
use super::prescription::Prescription;

/// One missing or invalid element SCRIPT requires: the FHIR path (e.g.
/// `Practitioner.identifier:NPI`, `Patient.birthDate`,
/// `MedicationRequest.dispenseRequest.quantity.unit`) and a human reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingElement {
    /// FHIR path of the element, with `:slice` for identifiers.
    pub path: String,
    /// Why it is needed or what is wrong with it (never a patient's value).
    pub reason: String,
}

#[derive(Default)]
struct Findings(Vec<MissingElement>);

impl Findings {
    fn add(&mut self, path: &str, reason: impl Into<String>) {
        self.0.push(MissingElement {
            path: path.to_owned(),
            reason: reason.into(),
        });
    }
}

fn present(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

fn check_address(f: &mut Findings, path: &str, a: Option<super::model::Address>, whose: &str) {
    let Some(a) = a else {
        f.add(
            path,
            format!("SCRIPT requires the {whose} address (line, city, state, postal code)"),
        );
        return;
    };
    for (ok, part) in [
        (!a.lines.is_empty(), "line"),
        (a.city.is_some(), "city"),
        (a.state.is_some(), "state"),
        (a.postal_code.is_some(), "postalCode"),
    ] {
        if !ok {
            f.add(
                &format!("{path}.{part}"),
                format!("SCRIPT requires the {whose} address {part}"),
            );
        }
    }
}

fn check_prescriber(f: &mut Findings, p: &Prescription) {
    let pr = &p.prescriber;
    if pr["resourceType"] != "Practitioner" {
        f.add("MedicationRequest.requester", "must resolve to a Practitioner (or a PractitionerRole with one): SCRIPT requires the prescriber");
        return;
    }
    match identifier(pr, NPI) {
        None => f.add(
            "Practitioner.identifier:NPI",
            format!("SCRIPT requires the prescriber's NPI (system {NPI})"),
        ),
        Some(npi) if !npi_valid(npi) => f.add(
            "Practitioner.identifier:NPI",
            "is not a valid 10-digit NPI (check digit)",
        ),
        Some(_) => {}
    }
    let name = fhir::name(pr);
    if name.last.is_none() {
        f.add(
            "Practitioner.name.family",
            "SCRIPT requires the prescriber's last name",
        );
    }
    if name.first.is_none() {
        f.add(
            "Practitioner.name.given",
            "SCRIPT requires the prescriber's first name",
        );
    }
    let address = fhir::address(pr, "work")
        .or_else(|| p.location.as_ref().and_then(|l| fhir::address(l, "work")))
        .or_else(|| {
            p.organization
                .as_ref()
                .and_then(|o| fhir::address(o, "work"))
        });
    check_address(f, "Practitioner.address", address, "prescriber's");
}

fn check_patient(f: &mut Findings, pt: &Value) {
    if pt["resourceType"] != "Patient" {
        f.add(
            "MedicationRequest.subject",
            "must resolve to a Patient: SCRIPT requires the patient",
        );
        return;
    }
    let name = fhir::name(pt);
    if name.last.is_none() {
        f.add(
            "Patient.name.family",
            "SCRIPT requires the patient's last name",
        );
    }
    if name.first.is_none() {
        f.add(
            "Patient.name.given",
            "SCRIPT requires the patient's first name",
        );
    }
    if !present(&pt["birthDate"]) {
        f.add(
            "Patient.birthDate",
            "SCRIPT requires the patient's date of birth",
        );
    } else if pt["birthDate"].as_str().is_some_and(|d| d.len() != 10) {
        f.add(
            "Patient.birthDate",
            "SCRIPT requires a full date of birth (YYYY-MM-DD)",
        );
    }
    if !present(&pt["gender"]) {
        f.add(
            "Patient.gender",
            "SCRIPT requires the patient's gender (M, F or U)",
        );
    }
}

fn check_medication(f: &mut Findings, p: &Prescription) {
    let mr = &p.medication_request;
    let concept = fhir::drug_concept(mr, p.medication.as_ref());
    if mr["medicationReference"].is_object() && p.medication.is_none() {
        f.add(
            "MedicationRequest.medicationReference",
            "does not resolve to a Medication in the input",
        );
    } else if fhir::drug_description(concept).is_none() {
        f.add(
            "MedicationRequest.medication[x]",
            "SCRIPT requires a drug description (CodeableConcept.text or a coding display)",
        );
    }
    let dr = &mr["dispenseRequest"];
    let q = &dr["quantity"];
    if !q["value"].is_number() {
        f.add(
            "MedicationRequest.dispenseRequest.quantity.value",
            "SCRIPT requires the quantity to dispense",
        );
    }
    if unit_of_quantity(q).is_none() {
        f.add(
            "MedicationRequest.dispenseRequest.quantity.unit",
            "SCRIPT requires a QuantityUnitOfMeasure: give an NCI code (system http://ncimeta.nci.nih.gov) or a unit fhirgate maps (e.g. tablet/{tbl}, capsule, mL, g, each)",
        );
    }
    if dr["expectedSupplyDuration"].is_object()
        && days_supply(&dr["expectedSupplyDuration"]).is_none()
    {
        f.add(
            "MedicationRequest.dispenseRequest.expectedSupplyDuration",
            "must be a whole number of days (UCUM d) for DaysSupply",
        );
    }
    let sig = mr["dosageInstruction"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|d| present(&d["text"]));
    if !sig {
        f.add(
            "MedicationRequest.dosageInstruction.text",
            "SCRIPT requires the Sig text",
        );
    }
    if !present(&mr["authoredOn"]) {
        f.add(
            "MedicationRequest.authoredOn",
            "SCRIPT requires the written date",
        );
    }
}

fn check_pharmacy(f: &mut Findings, o: &Value) {
    if o["resourceType"] != "Organization" {
        f.add(
            "MedicationRequest.dispenseRequest.performer",
            "must resolve to the pharmacy Organization carrying its NCPDP ID",
        );
        return;
    }
    match identifier(o, NCPDP_ID) {
        None => f.add(
            "Organization.identifier:NCPDPProviderIdentificationNumber",
            format!("SCRIPT requires the pharmacy's NCPDP ID (system {NCPDP_ID})"),
        ),
        Some(id) if id.len() != 7 || !id.bytes().all(|b| b.is_ascii_digit()) => f.add(
            "Organization.identifier:NCPDPProviderIdentificationNumber",
            "an NCPDP Provider ID has 7 digits",
        ),
        Some(_) => {}
    }
}

/// Every element of issue 7 item 3 that `p` lacks or carries unusably, in the order
/// prescriber, patient, medication, pharmacy (empty when a NewRx can be built).
pub fn missing_new_rx_elements(p: &Prescription) -> Vec<MissingElement> {
    let mut f = Findings::default();
    if p.medication_request["resourceType"] != "MedicationRequest" {
        f.add(
            "MedicationRequest",
            "the prescription is not a MedicationRequest",
        );
        return f.0;
    }
    check_prescriber(&mut f, p);
    check_patient(&mut f, &p.patient);
    check_medication(&mut f, p);
    check_pharmacy(&mut f, &p.pharmacy);
    f.0
}
