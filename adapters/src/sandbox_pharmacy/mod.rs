//! `kind: sandbox-pharmacy` — a built-in pharmacy for demos and tests (issue 7 item 4): it
//! receives NewRx and CancelRx over HTTP at `/sandbox/pharmacy/script`, checks the
//! elements SCRIPT requires, processes each MessageID once (recorded in the data dir),
//! answers Status 010, then sends RxFill (or CancelRxResponse) back to the gateway after
//! `delay_seconds`. Modes `down`, `slow` and `error-601` simulate failures.

mod admin;
mod config;
mod follow_up;
mod ledger;
mod required;
mod service;

pub use config::{Mode, SandboxPharmacyConfig};
pub use service::build;
