//! FHIR R4 MedicationRequest ⇄ NCPDP SCRIPT 2017071 (issue 7): pure mappings, no I/O.
//!
//! # API summary
//! Outbound (prescriber → pharmacy), from FHIR R4 JSON with references resolved:
//! - [`Prescription`] (`medication_request`, `patient`, `prescriber`, `organization`,
//!   `location`, `medication`, `coverage`, `pharmacy`); [`Prescription::from_bundle`] gathers
//!   one from a Bundle or a MedicationRequest with contained resources.
//! - [`missing_new_rx_elements`] → `Vec<`[`MissingElement`]`>` (`path`, `reason`): every
//!   element SCRIPT requires that is missing (the 422 list).
//! - [`controlled_substance`]`(p, &`[`ScheduledIngredients`]`)` → `Some(reason)` for a
//!   DEA-scheduled drug (RxNorm ingredient list, or the [`DEA_SCHEDULE_EXTENSION`] flag).
//! - [`medication_request_to_new_rx`] / [`medication_request_to_cancel_rx`]`(p, &`[`Header`]`)`
//!   → XML `String`; both refuse with [`MappingError::MissingElements`](crate::MappingError::MissingElements) what the check names.
//!   [`prescription_to_transaction`] + [`write_message`] build without the check.
//! - [`status`], [`error`], [`verify`]`(&Header, …)` → XML; [`rx_fill`] (sandbox pharmacy:
//!   an RxFill answering a parsed NewRx), [`rx_renewal_response`], [`rx_change_response`]
//!   (the prescriber's [`Response`] to a parsed request; [`decision_from_task`] reads it from
//!   a FHIR Task). [`Header::reply_to`] makes the header of an answer.
//! - [`medication_dispense_to_rx_fill`]`(dispense, &Prescription, &Header)` → RxFill XML
//!   (a FHIR-side pharmacy, and `fhirgate map --from fhir --to ncpdp`).
//!
//! Inbound (any direction):
//! - [`parse_message`]`(&[u8])` → [`Message`] { `header`: [`ParsedHeader`], `body`: [`Body`],
//!   `version`, `version_declared` }. 2017071 only (`version="2017071"` or
//!   `TransactionVersion="20170715"`); a message declaring no version at all (the
//!   namespace-less REMS NewRx) is read as 2017071 with `version_declared: false`; any other
//!   version → [`MappingError::UnsupportedVersion`](crate::MappingError::UnsupportedVersion) naming it. Never panics on any input.
//! - [`message_to_fhir`]`(&Message, &`[`InboundContext`]`)` → `Vec<Value>` (see
//!   [`to_fhir`] for the resources and their ids).
//! - [`task_update`]`(&Message)` → `Option<`[`TaskUpdate`]`>` (`status`, `business_status`)
//!   for Status, Error, Verify, RxFill and CancelRxResponse; [`error_is_transient`].
//!
//! Code tables are data in [`codes`] (QuantityUnitOfMeasure NCI ⇄ UCUM, DEA schedules, USPS
//! states, Sig time units); [`codes`] also documents the refills off-by-one.

pub mod codes;
pub mod controlled;
pub mod dispense;
pub mod fhir;
pub mod header;
pub mod model;
pub mod number;
pub mod outbound;
pub mod parse;
pub mod prescription;
pub mod required;
pub mod responses;
pub mod sig;
pub mod task;
pub mod to_fhir;
pub mod write;
pub mod xml;

pub use controlled::{
    DEA_SCHEDULE_EXTENSION, ScheduledIngredient, ScheduledIngredients, controlled_substance,
};
pub use dispense::medication_dispense_to_rx_fill;
pub use header::Header;
pub use model::{
    Address, BenefitsCoordination, Body, Communication, FillStatus, MedicationData, Message, Name,
    ParsedHeader, PatientData, PharmacyData, PrescriberData, QualifiedCode, QuantityData, Response,
    RxTransaction, Sig, SigCode, SigInstruction, StatusBody, Strength,
};
pub use outbound::{
    medication_request_to_cancel_rx, medication_request_to_new_rx, prescription_to_transaction,
};
pub use parse::parse_message;
pub use prescription::{InboundContext, Prescription};
pub use required::{MissingElement, missing_new_rx_elements};
pub use responses::{error, rx_change_response, rx_fill, rx_renewal_response, status, verify};
pub use task::{TaskUpdate, decision_from_task, error_is_transient, task_update};
pub use to_fhir::message_to_fhir;
pub use write::write_message;

#[cfg(test)]
mod tests;
