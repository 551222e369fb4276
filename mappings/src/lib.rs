//! Pure conversions between FHIR R4 and the formats of the systems behind fhirgate.
//!
//! No I/O and no async: every mapping is `fn(&Input) -> Result<Output, MappingError>`.
//! The format modules (Open mHealth, HealthKit, Fitbit, NCPDP SCRIPT, X12, HL7 v2) land
//! with their issues; this crate holds the shared error type until then.
#![forbid(unsafe_code)]

/// Why a source record could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The input is not of the shape its format requires (`detail` says where).
    #[error("invalid {format} input: {detail}")]
    Invalid {
        /// Source format name, e.g. `omh`.
        format: &'static str,
        /// What is wrong, with the element path where known.
        detail: String,
    },
}
