//! `kind: ncpdp` — e-prescribing in NCPDP SCRIPT 2017071 (issue 7): MedicationRequest
//! creates become NewRx, cancellations CancelRx, sent to the pharmacy named by
//! `dispenseRequest.performer` through a durable outbox (at-least-once, one MessageID per
//! message through every retry), with a FHIR Task showing each message's fate; pharmacies'
//! answers arrive on `POST /ncpdp/script`. The pure mappings are
//! `fhirgate_mappings::ncpdp`; MedicationRequest reads and every other resource go to the
//! configured store adapter.

mod cancel;
mod config;
mod context;
pub(crate) mod credential;
mod deliver;
mod inbound;
mod prescribe;
mod recovery;
mod resolve;
mod service;
mod state;
mod task;

pub(crate) use self::state::{derived_id, now_rfc3339};
pub(crate) use config::is_ncpdp_id;
pub use config::{ControlledConfig, NcpdpConfig, PharmacyConfig};
pub use service::build;
