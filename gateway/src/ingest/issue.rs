//! A refused reading → an OperationOutcome issue naming the reading and the reason.

use fhirgate_conformance::{Issue, IssueCode};
use fhirgate_mappings::MappingError;

/// The issue code for a mapping error: unknown measure → `not-supported`, malformed XML →
/// `structure`, every other defect of a reading → `invalid`.
pub fn code_of(e: &MappingError) -> IssueCode {
    match e {
        MappingError::UnknownMeasure { .. } => IssueCode::NotSupported,
        MappingError::Xml { .. } => IssueCode::Structure,
        _ => IssueCode::Invalid,
    }
}

/// An `error` issue whose diagnostics read `reading N: reason` (N 1-based, in source order;
/// no FHIRPath expression, since the source is not FHIR). Never carries the reading's value.
pub fn refused(index: usize, e: &MappingError) -> Issue {
    Issue::error(code_of(e), format!("reading {}: {e}", index + 1))
}
