//! fhirgate's own conformance resources: CapabilityStatement, OperationOutcome and SMART discovery,
//! and the structural validation of what clients write.
//!
//! Built with fhir-sdk's R4B models (the elements used are identical in R4 4.0.1) and
//! serialized to `serde_json::Value`, so the rest of fhirgate never handles typed models.
//! Nothing here depends on another fhirgate crate.
#![forbid(unsafe_code)]

pub mod capability;
pub mod depth;
pub mod outcome;
pub mod validate;

pub use capability::{CapabilityInput, ResourceCapability, SmartUris, capability_statement};
pub use outcome::{Issue, IssueCode, Severity, operation_outcome};

#[cfg(test)]
mod tests;
