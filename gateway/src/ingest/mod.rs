//! Wearable readings into FHIR: the source formats and streaming driver shared with
//! `fhirgate map` (and, next, `POST /fhir/Patient/{id}/$ingest`).

pub mod issue;
pub mod source;
