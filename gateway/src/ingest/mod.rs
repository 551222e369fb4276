//! Wearable readings into FHIR: the source formats and streaming driver shared with
//! `fhirgate map`, and `POST /fhir/Patient/{id}/$ingest?format=omh|healthkit|fitbit|googlefit
//! [&timezone=IANA]` (DESIGN.md "HTTP"), which maps the streamed body, writes the
//! Observations through the Observation route in batch Bundles with conditional create on
//! their identifier, and answers a `batch-response` Bundle with one entry per reading.

pub mod answer;
pub mod batch;
pub mod bridge;
pub mod config;
pub mod handler;
pub mod issue;
pub mod source;
pub mod spool;

pub use handler::{handle, is_ingest};
