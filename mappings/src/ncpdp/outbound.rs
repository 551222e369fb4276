//! FHIR MedicationRequest (+ Patient, Practitioner, Organization/Location, Medication,
//! Coverage, pharmacy Organization) → SCRIPT 2017071 NewRx and CancelRx.
//!
//! Element by element: `authoredOn` → `WrittenDate`; `dispenseRequest.quantity` → `Quantity`
//! (`CodeListQualifier` 38, unit via [`super::codes::QUANTITY_UNITS`]);
//! `expectedSupplyDuration` (days) → `DaysSupply`; `numberOfRepeatsAllowed` →
//! `NumberOfRefills` unchanged (see [`super::codes`]); `substitution.allowedBoolean` true (or
//! absent) → `Substitutions` 0, false → 1 (`allowedCodeableConcept` code `N` → 1, else 0);
//! `note[].text` → `Note`; `dosageInstruction` → `Sig` ([`super::sig`]); RxNorm → `DrugDBCode`,
//! NDC → `ProductCode` (`ND`); Coverage `subscriberId` → `CardholderID`.

use serde_json::Value;

use super::codes::{
    NCI, NCI_THESAURUS, NCPDP_ID, NPI, dea_schedule_nci, gender_to_script, identifier,
    unit_of_quantity,
};
use super::controlled::schedule_flag;
use super::fhir::{self, DEA_SYSTEMS};
use super::header::Header;
use super::model::*;
use super::number::number_text;
use super::prescription::Prescription;
use super::required::missing_new_rx_elements;
use super::sig::dosages_to_sig;
use super::write::write_message;
use crate::MappingError;

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn patient(p: &Value) -> Option<PatientData> {
    (p["resourceType"] == "Patient").then(|| PatientData {
        medical_record_number: text(&p["id"]),
        name: fhir::name(p),
        gender: p["gender"].as_str().map(|g| gender_to_script(g).to_owned()),
        birth_date: text(&p["birthDate"]),
        address: fhir::address(p, "home"),
        communication: fhir::communication(p, "home"),
    })
}

fn pharmacy(o: &Value) -> Option<PharmacyData> {
    (o["resourceType"] == "Organization").then(|| PharmacyData {
        ncpdp_id: identifier(o, NCPDP_ID).map(str::to_owned),
        npi: identifier(o, NPI).map(str::to_owned),
        business_name: text(&o["name"]),
        address: fhir::address(o, "work"),
        communication: fhir::communication(o, "work"),
    })
}

fn prescriber(p: &Prescription) -> Option<PrescriberData> {
    let pr = &p.prescriber;
    if pr["resourceType"] != "Practitioner" {
        return None;
    }
    let org = p.organization.as_ref();
    let loc = p.location.as_ref();
    let mut communication = fhir::communication(pr, "work");
    if communication.phone.is_none() {
        for r in [loc, org].into_iter().flatten() {
            communication.phone = communication.phone.or(fhir::communication(r, "work").phone);
        }
    }
    Some(PrescriberData {
        npi: identifier(pr, NPI).map(str::to_owned),
        dea_number: DEA_SYSTEMS
            .iter()
            .find_map(|s| identifier(pr, s))
            .map(str::to_owned),
        state_license_number: None,
        practice_location: org
            .and_then(|o| text(&o["name"]))
            .or_else(|| loc.and_then(|l| text(&l["name"]))),
        name: fhir::name(pr),
        address: fhir::address(pr, "work")
            .or_else(|| loc.and_then(|l| fhir::address(l, "work")))
            .or_else(|| org.and_then(|o| fhir::address(o, "work"))),
        communication,
    })
}

fn benefits(c: &Value) -> BenefitsCoordination {
    let group = c["class"].as_array().into_iter().flatten().find(|k| {
        k["type"]["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["code"] == "group")
    });
    BenefitsCoordination {
        payer_id: text(&c["payor"][0]["identifier"]["value"]),
        payer_name: text(&c["payor"][0]["display"]),
        cardholder_id: text(&c["subscriberId"]),
        group_id: group.and_then(|g| text(&g["value"])),
    }
}

/// `DaysSupply` from `expectedSupplyDuration` in days (`d`, or unit `day`/`days`); whole
/// days only.
pub(crate) fn days_supply(d: &Value) -> Option<String> {
    let unit_ok = d["code"] == "d" || matches!(d["unit"].as_str(), Some("d" | "day" | "days"));
    let v = number_text(&d["value"])?;
    let whole = v.split_once('.').map_or(v.as_str(), |(i, f)| {
        if f.bytes().all(|b| b == b'0') { i } else { "" }
    });
    (unit_ok && !whole.is_empty() && !whole.starts_with('-')).then(|| whole.to_owned())
}

fn substitutions(s: &Value) -> String {
    let allowed = match (&s["allowedBoolean"], &s["allowedCodeableConcept"]) {
        (Value::Bool(b), _) => *b,
        (_, c @ Value::Object(_)) => !c["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["code"] == "N"),
        _ => true,
    };
    if allowed { "0" } else { "1" }.to_owned()
}

fn medication(p: &Prescription) -> MedicationData {
    let mr = &p.medication_request;
    let med = p.medication.as_ref();
    let concept = fhir::drug_concept(mr, med);
    let dr = &mr["dispenseRequest"];
    let q = &dr["quantity"];
    let notes: Vec<String> = mr["note"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| text(&n["text"]))
        .collect();
    let strength = med.and_then(|m| {
        let num = &m["ingredient"][0]["strength"]["numerator"];
        let value = number_text(&num["value"])?;
        let form = &m["form"]["coding"];
        Some(Strength {
            value: Some(value),
            form_code: form
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| matches!(c["system"].as_str(), Some(NCI | NCI_THESAURUS)))
                .and_then(|c| text(&c["code"])),
            unit_code: unit_of_quantity(num).map(|u| u.nci.to_owned()),
        })
    });
    let schedule = [med, Some(mr)]
        .into_iter()
        .flatten()
        .find_map(schedule_flag)
        .flatten();
    MedicationData {
        drug_description: fhir::drug_description(concept),
        product_code: fhir::product_code(concept),
        strength,
        drug_db_code: fhir::drug_db_code(concept),
        dea_schedule: schedule
            .as_deref()
            .and_then(dea_schedule_nci)
            .map(str::to_owned),
        quantity: number_text(&q["value"]).map(|value| QuantityData {
            value,
            code_list_qualifier: Some("38".to_owned()),
            unit_code: unit_of_quantity(q).map(|u| u.nci.to_owned()),
        }),
        days_supply: days_supply(&dr["expectedSupplyDuration"]),
        written_date: text(&mr["authoredOn"]),
        last_fill_date: None,
        substitutions: Some(substitutions(&mr["substitution"])),
        number_of_refills: Some(
            number_text(&dr["numberOfRepeatsAllowed"]).unwrap_or_else(|| "0".to_owned()),
        ),
        note: (!notes.is_empty()).then(|| notes.join(" ")),
        sig: mr["dosageInstruction"]
            .as_array()
            .and_then(|d| dosages_to_sig(d)),
    }
}

/// The SCRIPT content of `p` (Patient, Pharmacy, Prescriber, MedicationPrescribed,
/// BenefitsCoordination) without checking required elements; what is missing stays out.
///
/// Errors: [`MappingError::Invalid`] (format `fhir`) when `p.medication_request` is not a
/// MedicationRequest.
pub fn prescription_to_transaction(p: &Prescription) -> Result<RxTransaction, MappingError> {
    if p.medication_request["resourceType"] != "MedicationRequest" {
        return Err(MappingError::invalid(
            "fhir",
            "Prescription.medication_request is not a MedicationRequest",
        ));
    }
    Ok(RxTransaction {
        benefits_coordination: p.coverage.iter().map(benefits).collect(),
        patient: patient(&p.patient),
        pharmacy: pharmacy(&p.pharmacy),
        prescriber: prescriber(p),
        medication_prescribed: Some(medication(p)),
        ..RxTransaction::default()
    })
}

fn checked(p: &Prescription) -> Result<RxTransaction, MappingError> {
    let missing = missing_new_rx_elements(p);
    if !missing.is_empty() {
        return Err(MappingError::MissingElements {
            format: "ncpdp",
            elements: missing
                .iter()
                .map(|m| format!("{}: {}", m.path, m.reason))
                .collect(),
        });
    }
    prescription_to_transaction(p)
}

/// MedicationRequest → NewRx XML under `h` (`To` = the pharmacy's NCPDP ID,
/// `PrescriberOrderNumber` = our order number).
///
/// Errors: [`MappingError::MissingElements`] listing what [`missing_new_rx_elements`] names
/// (nothing is built then); [`MappingError::Invalid`] as [`prescription_to_transaction`].
pub fn medication_request_to_new_rx(p: &Prescription, h: &Header) -> Result<String, MappingError> {
    Ok(write_message(h, &Body::NewRx(Box::new(checked(p)?))))
}

/// A MedicationRequest whose `status` is `cancelled` or `stopped` → CancelRx XML under `h`
/// (set `h.relates_to_message_id` to the NewRx's MessageID and keep its
/// `PrescriberOrderNumber`). The prescription is repeated as SCRIPT requires; the
/// `statusReason` text, when present, becomes the `Note`.
///
/// Errors: [`MappingError::Invalid`] for another status; otherwise as
/// [`medication_request_to_new_rx`].
pub fn medication_request_to_cancel_rx(
    p: &Prescription,
    h: &Header,
) -> Result<String, MappingError> {
    let status = p.medication_request["status"].as_str().unwrap_or("");
    if !matches!(status, "cancelled" | "stopped") {
        return Err(MappingError::invalid(
            "fhir",
            format!("CancelRx needs MedicationRequest.status cancelled or stopped, not {status:?}"),
        ));
    }
    let mut t = checked(p)?;
    if let (Some(m), Some(reason)) = (
        t.medication_prescribed.as_mut(),
        text(&p.medication_request["statusReason"]["text"]),
    ) {
        m.note = Some(reason);
    }
    Ok(write_message(h, &Body::CancelRx(Box::new(t))))
}
