//! The tamper-evident audit trail: one FHIR AuditEvent (IHE BALP) per request that touches
//! patient data, HMAC-chained, written through a bounded queue before the response is
//! released (`layer`), searchable as `GET /fhir/AuditEvent` (`search`) and checked by
//! `fhirgate audit verify` ([`verify`]). A normal shutdown closes it ([`AuditTrail::close`], from the server's
//! `run`): what
//! is queued is stored and the checkpoint replaced before the process exits.

pub mod chain;
pub mod config;
pub mod event;
mod jsonl;
pub mod key;
pub mod layer;
pub mod search;
mod sink;
mod sql;
#[cfg(test)]
mod tests;
mod trail;

pub use config::{AuditConfig, Release, SinkKind};
pub use sink::Sink;
pub use trail::{AuditTrail, Job, VerifyError, verify};
