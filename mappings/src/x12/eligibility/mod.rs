//! Eligibility, coverage or benefit inquiry and information (ASC X12 005010X279A1 270/271)
//! ⇄ FHIR R4 CoverageEligibilityRequest / CoverageEligibilityResponse.
//!
//! X12 side: [`read()`] turns a 270/271 transaction set into [`Eligibility`] values (one
//! per patient), [`write()`] turns one back into segments. FHIR side, all pure and on
//! `serde_json::Value`:
//! - [`coverage_eligibility_request_to_270`]: CoverageEligibilityRequest + Patient +
//!   Coverage + insurer + provider → 270.
//! - [`eligibility_271_to_coverage_eligibility_response`]: 271 → CoverageEligibilityResponse,
//!   the Coverage it confirms and the member as the payer knows them.
//! - [`coverage_eligibility_response_to_271`]: the reverse, for a payer answering a 270.
//! - [`eligibility_to_fhir`] / [`fhir_to_eligibility`]: whole inputs, for `fhirgate map`.

pub mod answer;
pub mod benefits;
pub mod fhir;
pub mod from_bundle;
pub mod inquiry;
pub mod model;
pub mod read;
pub mod response;
pub mod to_fhir;
pub mod write;

pub use answer::{AnswerResources, coverage_eligibility_response_to_271};
pub use from_bundle::fhir_to_eligibility;
pub use inquiry::{InquiryControl, InquiryResources, coverage_eligibility_request_to_270};
pub use model::{Benefit, DateValue, Eligibility, Entity, Inquiry, Member, Rejection, Trace};
pub use read::read;
pub use response::{
    Correction, MappedResponse, ResponseContext, eligibility_271_to_coverage_eligibility_response,
};
pub use to_fhir::eligibility_to_fhir;
pub use write::{VERSION, write};
