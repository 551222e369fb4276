//! FHIR MedicationRequest (+ Patient, Practitioner, Medication, Coverage, pharmacy) →
//! SCRIPT 2017071 NewRx and CancelRx.

use super::header::Header;
use super::model::RxTransaction;
use super::prescription::Prescription;
use crate::MappingError;

/// The SCRIPT content of `p` (no required-element check).
pub fn prescription_to_transaction(p: &Prescription) -> Result<RxTransaction, MappingError> {
    let _ = p;
    Err(MappingError::invalid("fhir", "not implemented yet"))
}

/// MedicationRequest → NewRx XML.
pub fn medication_request_to_new_rx(p: &Prescription, h: &Header) -> Result<String, MappingError> {
    let _ = (p, h);
    Err(MappingError::invalid("fhir", "not implemented yet"))
}

/// MedicationRequest (status cancelled/stopped) → CancelRx XML.
pub fn medication_request_to_cancel_rx(
    p: &Prescription,
    h: &Header,
) -> Result<String, MappingError> {
    let _ = (p, h);
    Err(MappingError::invalid("fhir", "not implemented yet"))
}
