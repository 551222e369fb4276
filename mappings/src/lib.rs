//! Pure conversions between FHIR R4 and the formats of the systems behind fhirgate.
//!
//! No I/O and no async: every mapping is `fn(&Input) -> Result<Output, MappingError>`.
//! [`wearables`] maps Open mHealth, Apple HealthKit and Fitbit readings to FHIR R4
//! Observations and back; [`ncpdp`] maps FHIR MedicationRequest ⇄ NCPDP SCRIPT 2017071;
//! the X12 and HL7 v2 modules land with their issues.
#![forbid(unsafe_code)]

pub mod hl7v2;
pub mod ncpdp;
pub mod wearables;
pub mod x12;

/// Why a source record could not be mapped. Every variant names the source format; the
/// message is safe to show to the caller (it never contains a reading's value).
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
    /// The unit is not one this measure accepts (see `wearables::units`).
    #[error("unknown unit {unit:?} for {measure} in {format} input")]
    UnknownUnit {
        /// Source format name.
        format: &'static str,
        /// Measure, e.g. `heart-rate`.
        measure: String,
        /// The unit as the source wrote it.
        unit: String,
    },
    /// The time frame is missing, unparseable or of a kind the measure does not allow.
    #[error("bad time frame for {measure} in {format} input: {detail}")]
    TimeFrame {
        /// Source format name.
        format: &'static str,
        /// Measure, e.g. `step-count`.
        measure: String,
        /// What is wrong.
        detail: String,
    },
    /// The record is of a measure or type this mapping does not know.
    #[error("unknown measure {measure:?} in {format} input")]
    UnknownMeasure {
        /// Source format name.
        format: &'static str,
        /// The measure, schema or type name as the source wrote it.
        measure: String,
    },
    /// The message is of a version this mapping does not speak (NCPDP SCRIPT: only 2017071).
    #[error("unsupported {format} version {version:?}: fhirgate speaks {supported}")]
    UnsupportedVersion {
        /// Source format name, e.g. `ncpdp`.
        format: &'static str,
        /// The version the message declares.
        version: String,
        /// The version this mapping speaks, e.g. `SCRIPT 2017071`.
        supported: &'static str,
    },
    /// Elements the target format requires are absent or unusable in the source (each entry
    /// a path such as `Patient.birthDate` followed by the reason).
    #[error("{format} requires elements the input lacks: {}", elements.join("; "))]
    MissingElements {
        /// Target format name, e.g. `ncpdp`.
        format: &'static str,
        /// `path: reason` per missing element.
        elements: Vec<String>,
    },
    /// The XML is not well formed or ends before its root element closes.
    #[error("malformed {format} XML at byte {position}: {detail}")]
    Xml {
        /// Source format name.
        format: &'static str,
        /// Byte offset in the input where reading stopped.
        position: u64,
        /// What the reader reported.
        detail: String,
    },
}

impl MappingError {
    /// Shorthand for [`MappingError::Invalid`].
    pub fn invalid(format: &'static str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            format,
            detail: detail.into(),
        }
    }
}
