//! `kind: store` — the embedded FHIR R4 store on SQLite (default) or PostgreSQL, through sqlx.

use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::{AdapterError, BuildContext, SharedAdapter};

/// Settings of a `kind: store` adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Database URL: `sqlite://store.db` (relative paths are under `server.data_dir`) or
    /// `postgres://user@host/db`. Default `sqlite://store.db`.
    #[serde(default = "default_url")]
    pub url: String,
}

fn default_url() -> String {
    "sqlite://store.db".into()
}

impl StoreConfig {
    /// Pure checks of the settings.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        if self.url.starts_with("sqlite:")
            || self.url.starts_with("postgres://")
            || self.url.starts_with("postgresql://")
        {
            Vec::new()
        } else {
            vec![ConfigProblem::new(
                "url",
                "must start with sqlite: or postgres://",
            )]
        }
    }
}

/// Builds the adapter (not yet implemented in this scaffold).
pub async fn build(
    name: &str,
    _config: &StoreConfig,
    _ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    Err(AdapterError::Config {
        adapter: name.to_owned(),
        detail: "store adapter not built yet".into(),
    })
}
