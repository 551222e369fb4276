//! fhirgate's adapters: the `Adapter` trait and one module per kind of system behind the gateway.
//!
//! An adapter takes one parsed FHIR interaction ([`FhirRequest`]) and answers it
//! ([`FhirResponse`]) the way a FHIR R4 server would, including OperationOutcome bodies for
//! client errors. Failures of the system behind it (unreachable, timed out, broken answer)
//! are [`AdapterError`]s, which the gateway turns into 502/503/504.
//!
//! Adding a kind: one module here and one variant in [`AdapterConfig`].
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod fhir;
pub mod interaction;
pub mod outcome;
pub mod store;

use std::sync::Arc;

pub use config::AdapterConfig;
pub use error::AdapterError;
pub use interaction::{FhirRequest, FhirResponse, Interaction, ResponseBody};

/// A system behind the gateway that answers FHIR interactions.
///
/// Implementations must be cheap to share (`Arc<dyn Adapter>`) and safe to call concurrently.
#[async_trait::async_trait]
pub trait Adapter: Send + Sync + 'static {
    /// The instance name from the config (`adapters.<name>`), used in logs, metrics and errors.
    fn name(&self) -> &str;

    /// Answers one interaction. Client errors are responses (4xx with an OperationOutcome);
    /// `Err` means the system behind the adapter failed (mapped to 502/503/504).
    async fn handle(&self, request: FhirRequest) -> Result<FhirResponse, AdapterError>;

    /// Readiness for `/readyz`: `Ok` when the system behind the adapter is reachable.
    async fn check(&self) -> Result<(), AdapterError>;

    /// Search parameters this adapter supports for `resource_type`, as `(name, type)`
    /// pairs with a `search-param-type` code; used for the CapabilityStatement.
    fn search_params(&self, resource_type: &str) -> Vec<(String, String)> {
        let _ = resource_type;
        Vec::new()
    }
}

/// Shared handle to an adapter instance.
pub type SharedAdapter = Arc<dyn Adapter>;

/// Context every adapter gets when it is built: where runtime state lives.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The gateway's data directory (`server.data_dir`), created before adapters are built.
    pub data_dir: std::path::PathBuf,
}
