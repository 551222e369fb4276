//! `gateway.yaml`: the configuration schema, its defaults, and loading with exact error locations.
//!
//! Loading reads the file, expands `${ENV}` references in its scalar values (a variable's
//! value is always one string, never YAML), parses it with every unknown key an
//! error, applies the documented environment overrides, then validates it without I/O.
//! Every problem is reported as `file:line: key.path: problem`.

mod env;
mod load;
mod locate;
mod routes;
mod server;

pub use load::{ConfigError, Problem, load, load_str};
pub use routes::RouteConfig;
pub use server::ServerConfig;

use fhirgate_adapters::AdapterConfig;
use indexmap::IndexMap;
use serde::Deserialize;

/// Most entries the embedded store processes in one batch or transaction Bundle. With a
/// `store` adapter, `server.max_bundle_entries` may not exceed it.
pub const STORE_MAX_BUNDLE_ENTRIES: usize = fhirgate_adapters::store::MAX_BUNDLE_ENTRIES;

/// The whole `gateway.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listening address, public base URL, data directory and HTTP limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// SMART authorization: trusted issuers, audiences, user policy, sandbox server.
    #[serde(default)]
    pub auth: crate::auth::AuthConfig,
    /// Named adapter instances, each with a `kind` (`fhir`, `store`, …).
    pub adapters: IndexMap<String, AdapterConfig>,
    /// Which adapter serves which resource types and interactions; the first match wins.
    pub routes: Vec<RouteConfig>,
    /// Per-client GCRA rate limits (tiers of `per_second` and `burst`).
    #[serde(default)]
    pub rate_limits: crate::policy::ratelimit::RateLimitsConfig,
    /// The response cache: size bound and per-type TTLs.
    #[serde(default)]
    pub cache: crate::policy::cache::CacheConfig,
    /// The HMAC-chained AuditEvent trail: sink, key, queue, fail-open switch.
    #[serde(default)]
    pub audit: crate::policy::audit::AuditConfig,
    /// `$ingest` of wearable readings: body size limit and batch size.
    #[serde(default)]
    pub ingest: crate::ingest::config::IngestConfig,
    /// Optional Redis (global limits, cache invalidation) and PostgreSQL (shared audit).
    #[serde(default)]
    pub shared_state: crate::policy::shared::SharedStateConfig,
}

impl Config {
    /// Pure validation of cross-references and values; returns `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = self.server.validate();
        if let Some(name) = self
            .adapters
            .iter()
            .find_map(|(name, a)| matches!(a, AdapterConfig::Store(_)).then_some(name))
            .filter(|_| self.server.max_bundle_entries > STORE_MAX_BUNDLE_ENTRIES)
        {
            problems.push((
                "server.max_bundle_entries".into(),
                format!(
                    "must be at most {STORE_MAX_BUNDLE_ENTRIES}: the embedded store (adapter \
                     '{name}') refuses a larger Bundle with 413 on its own"
                ),
            ));
        }
        problems.extend(self.auth.validate());
        problems.extend(self.rate_limits.validate());
        problems.extend(self.cache.validate());
        problems.extend(self.audit.validate(self.shared_state.postgres.is_some()));
        problems.extend(self.shared_state.validate());
        problems.extend(self.ingest.validate());
        if self.adapters.is_empty() {
            problems.push(("adapters".into(), "at least one adapter is required".into()));
        }
        for (index, (name, adapter)) in self.adapters.iter().enumerate() {
            for p in adapter.validate() {
                problems.push((format!("adapters.{name}.{}", p.path), p.problem));
            }
            // Adapters are built in config order: one naming another needs it built first.
            for (path, other) in adapter.references() {
                let problem = match self.adapters.get_index_of(&other) {
                    None => format!("no adapter named '{other}' in `adapters`"),
                    Some(i) if i >= index => {
                        format!("adapter '{other}' must be defined before '{name}'")
                    }
                    Some(_) => continue,
                };
                problems.push((format!("adapters.{name}.{path}"), problem));
            }
        }
        if self.routes.is_empty() {
            problems.push(("routes".into(), "at least one route is required".into()));
        }
        for (i, route) in self.routes.iter().enumerate() {
            for (path, problem) in route.validate(&self.adapters) {
                problems.push((format!("routes[{i}].{path}"), problem));
            }
        }
        problems
    }
}

#[cfg(test)]
mod env_tests;
#[cfg(test)]
mod tests;
