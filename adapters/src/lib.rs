//! fhirgate's adapters: the `Adapter` trait and one module per kind of system behind the gateway.
//!
//! An adapter takes one parsed FHIR interaction ([`FhirRequest`]) and answers it
//! ([`FhirResponse`]) the way a FHIR R4 server would, including OperationOutcome bodies for
//! client errors. Failures of the system behind it (unreachable, timed out, broken answer)
//! are [`AdapterError`]s, which the gateway turns into 502/503/504.
//!
//! Adding a kind: one module here and one variant in [`AdapterConfig`].
#![forbid(unsafe_code)]

pub mod changes;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod fhir;
pub mod form;
pub mod hl7v2;
pub mod interaction;
pub mod ncpdp;
pub mod outbox;
pub mod outcome;
pub mod sandbox_payer;
pub mod sandbox_pharmacy;
pub mod store;
mod store_client;
pub mod x12;

use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;

pub use changes::{Change, ChangeFeed};
pub use config::AdapterConfig;
pub use endpoint::Endpoint;
pub use error::AdapterError;
pub use interaction::{CollectError, FhirRequest, FhirResponse, Interaction, ResponseBody};

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

    /// `_include` and `_revinclude` values this adapter answers on searches of
    /// `resource_type` (`Observation:subject`, `*`), for the CapabilityStatement's
    /// `searchInclude` and `searchRevInclude` (FHIR R4 capabilitystatement.html). Default:
    /// none advertised.
    fn search_includes(&self, resource_type: &str) -> (Vec<String>, Vec<String>) {
        let _ = resource_type;
        (Vec::new(), Vec::new())
    }

    /// Whether this adapter answers the operation `$name` on `resource_type` (`None`: the
    /// system level) when a route sends it here (FHIR R4 operations.html). The edge answers
    /// 404 `not-supported` for an operation the routed adapter does not serve. None by
    /// default, so a new kind never opens an operation by accident.
    fn serves_operation(&self, resource_type: Option<&str>, name: &str) -> bool {
        let _ = (resource_type, name);
        false
    }

    /// Non-FHIR HTTP endpoints this adapter serves on the gateway's listener (e.g.
    /// `/ncpdp/script`); the gateway mounts them at startup. None by default.
    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        Vec::new()
    }
}

/// Shared handle to an adapter instance.
pub type SharedAdapter = Arc<dyn Adapter>;

/// Context every adapter gets when it is built: where runtime state lives, the adapters
/// built before it, the gateway's own URL and the change feed.
#[derive(Clone)]
pub struct BuildContext {
    /// The gateway's data directory (`server.data_dir`), created before adapters are built.
    pub data_dir: std::path::PathBuf,
    /// The adapters built so far, in config order: an adapter naming another one in its
    /// config (e.g. `store: store`) finds it here. Config validation guarantees such names
    /// refer to adapters defined earlier.
    pub adapters: IndexMap<String, SharedAdapter>,
    /// The gateway's own bound base URL (`http://127.0.0.1:PORT`, no trailing slash), set
    /// by the server right after it binds; empty while adapters are built and in tests
    /// without a listener. Read it when the URL is needed, not at build time.
    pub self_url: Arc<OnceLock<url::Url>>,
    /// Where adapters announce resources they wrote on their own, for cache invalidation.
    pub changes: ChangeFeed,
    /// Largest answer an adapter builds in memory for one request, in bytes
    /// (`server.max_answer_bytes`): a batch- or transaction-response, or one search page
    /// with its `_include`/`_revinclude` resources. Default [`DEFAULT_MAX_ANSWER_BYTES`].
    pub max_answer_bytes: usize,
}

/// Default of [`BuildContext::max_answer_bytes`] and `server.max_answer_bytes`: 32 MiB.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 32 << 20;

impl BuildContext {
    /// A context with `data_dir`, no earlier adapters, no bound URL yet and a fresh feed.
    pub fn new(data_dir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            adapters: IndexMap::new(),
            self_url: Arc::new(OnceLock::new()),
            changes: ChangeFeed::new(),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }

    /// The adapter named `name` built before this one. Errors: [`AdapterError::Config`]
    /// naming `adapter` (the one being built) when there is none.
    pub fn adapter(&self, adapter: &str, name: &str) -> Result<SharedAdapter, AdapterError> {
        self.adapters
            .get(name)
            .cloned()
            .ok_or_else(|| AdapterError::Config {
                adapter: adapter.to_owned(),
                detail: format!("no adapter named '{name}' is defined before this one"),
            })
    }
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("data_dir", &self.data_dir)
            .field("adapters", &self.adapters.keys().collect::<Vec<_>>())
            .field("self_url", &self.self_url.get())
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish_non_exhaustive()
    }
}
