//! `kind: store` — the embedded FHIR R4 store on SQLite (default) or PostgreSQL, through
//! sqlx: versioned CRUD, search over index tables, batch/transaction, seeding.

// Client errors travel as `Answer`s (an HTTP answer with its OperationOutcome) in `Err`;
// they are built once per request, so their size does not matter and boxing would only
// add noise at every `?`.
#![allow(clippy::result_large_err)]

mod answer;
mod bundle;
mod bundle_json;
mod config;
mod dates;
mod db;
mod exec;
mod history;
mod index;
mod ops;
pub mod params;
mod patch;
mod reindex;
mod resource;
mod schema;
mod search;
mod seed;
mod service;
mod storage;
mod text;

pub use bundle::MAX_ENTRIES as MAX_BUNDLE_ENTRIES;
pub use config::StoreConfig;
pub use service::build;

#[cfg(test)]
mod tests;
