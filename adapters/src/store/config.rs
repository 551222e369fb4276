//! Settings of a `kind: store` adapter and their pure validation.

use serde::Deserialize;

use crate::config::ConfigProblem;

/// Settings of a `kind: store` adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Database URL: `sqlite://store.db` (relative paths are under `server.data_dir`),
    /// `sqlite:///abs/path.db`, or `postgres://user@host/db`. Default `sqlite://store.db`.
    #[serde(default = "default_url")]
    pub url: String,
    /// PostgreSQL schema holding the store's tables (created when missing); `None` uses the
    /// connection's default `search_path`. Letters, digits and `_` only. Ignored on SQLite.
    #[serde(default)]
    pub schema: Option<String>,
    /// Load the shipped Synthea patients and the sandbox bundle when the store is empty.
    /// Default `true`.
    #[serde(default = "default_true")]
    pub seed: bool,
    /// Allow `PUT [type]/[id]` to create a resource with a client-chosen id
    /// (`CapabilityStatement.rest.resource.updateCreate`). Default `true`.
    #[serde(default = "default_true")]
    pub update_create: bool,
    /// Maximum number of pooled database connections. Default 8.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_url() -> String {
    "sqlite://store.db".into()
}

fn default_true() -> bool {
    true
}

fn default_max_connections() -> u32 {
    8
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: default_url(),
            schema: None,
            seed: true,
            update_create: true,
            max_connections: default_max_connections(),
        }
    }
}

impl StoreConfig {
    /// Pure checks of the settings (no I/O). Returns every problem found.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("sqlite:")
            || self.url.starts_with("postgres://")
            || self.url.starts_with("postgresql://"))
        {
            problems.push(ConfigProblem::new(
                "url",
                "must start with sqlite: or postgres://",
            ));
        }
        if let Some(schema) = &self.schema
            && !is_valid_schema(schema)
        {
            problems.push(ConfigProblem::new(
                "schema",
                "must be 1-63 characters of letters, digits and _",
            ));
        }
        if self.max_connections == 0 {
            problems.push(ConfigProblem::new("max_connections", "must be at least 1"));
        }
        problems
    }

    /// Whether the URL names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }
}

/// A schema name safe to quote into SQL: `[A-Za-z0-9_]{1,63}`.
pub(crate) fn is_valid_schema(schema: &str) -> bool {
    (1..=63).contains(&schema.len())
        && schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
