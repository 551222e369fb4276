//! FHIR MedicationDispense (+ the prescription it fills) → SCRIPT 2017071 RxFill: the
//! pharmacy side of [`super::message_to_fhir`]'s RxFill mapping.

use serde_json::Value;

use super::codes::unit_of_quantity;
use super::fhir;
use super::header::Header;
use super::model::{Body, FillStatus, QuantityData};
use super::number::number_text;
use super::outbound::{days_supply, prescription_to_transaction};
use super::prescription::Prescription;
use super::sig::dosages_to_sig;
use super::write::write_message;
use crate::MappingError;

/// `MedicationDispense.status` → `FillStatus`: `completed` → Dispensed, `in-progress` →
/// PartiallyDispensed, `declined`/`cancelled`/`stopped` → NotDispensed; the first `note`
/// becomes the status `Note`.
fn fill_status(d: &Value) -> Result<FillStatus, MappingError> {
    let note = d["note"][0]["text"].as_str().map(str::to_owned);
    Ok(match d["status"].as_str().unwrap_or("") {
        "completed" => FillStatus::Dispensed { note },
        "in-progress" => FillStatus::PartiallyDispensed { note },
        "declined" | "cancelled" | "stopped" => FillStatus::NotDispensed { note },
        other => {
            return Err(MappingError::invalid(
                "fhir",
                format!(
                    "MedicationDispense.status {other:?} has no RxFill FillStatus (completed, in-progress, declined)"
                ),
            ));
        }
    })
}

/// A MedicationDispense and the [`Prescription`] it fills (its `authorizingPrescription`)
/// → RxFill XML under `h`: Patient, Pharmacy, Prescriber and MedicationPrescribed from the
/// prescription; `MedicationDispensed` from the dispense (drug, `quantity`, `daysSupply`,
/// `whenHandedOver` date → `LastFillDate`, `dosageInstruction` → Sig), falling back to the
/// prescribed values.
///
/// Errors: [`MappingError::Invalid`] (format `fhir`) when `dispense` is not a
/// MedicationDispense or its status has no FillStatus.
pub fn medication_dispense_to_rx_fill(
    dispense: &Value,
    p: &Prescription,
    h: &Header,
) -> Result<String, MappingError> {
    if dispense["resourceType"] != "MedicationDispense" {
        return Err(MappingError::invalid(
            "fhir",
            "expected a MedicationDispense",
        ));
    }
    let fill = fill_status(dispense)?;
    let mut t = prescription_to_transaction(p)?;
    let mut dispensed = t.medication_prescribed.clone().unwrap_or_default();
    let concept = &dispense["medicationCodeableConcept"];
    if concept.is_object() {
        dispensed.drug_description = fhir::drug_description(concept).or(dispensed.drug_description);
        dispensed.product_code = fhir::product_code(concept).or(dispensed.product_code);
        dispensed.drug_db_code = fhir::drug_db_code(concept).or(dispensed.drug_db_code);
    }
    let q = &dispense["quantity"];
    if let Some(value) = number_text(&q["value"]) {
        dispensed.quantity = Some(QuantityData {
            value,
            code_list_qualifier: Some("38".to_owned()),
            unit_code: unit_of_quantity(q).map(|u| u.nci.to_owned()),
        });
    }
    if let Some(d) = days_supply(&dispense["daysSupply"]) {
        dispensed.days_supply = Some(d);
    }
    dispensed.last_fill_date = dispense["whenHandedOver"]
        .as_str()
        .or(dispense["whenPrepared"].as_str())
        .and_then(|d| d.get(..10))
        .map(str::to_owned);
    if let Some(sig) = dispense["dosageInstruction"]
        .as_array()
        .and_then(|d| dosages_to_sig(d))
    {
        dispensed.sig = Some(sig);
    }
    dispensed.note = None;
    let is_dispensed = matches!(
        fill,
        FillStatus::Dispensed { .. } | FillStatus::PartiallyDispensed { .. }
    );
    t.medication_dispensed = is_dispensed.then_some(dispensed);
    t.fill_status = Some(fill);
    t.benefits_coordination.clear();
    Ok(write_message(h, &Body::RxFill(Box::new(t))))
}
