//! `kind: fhir` — forwards interactions to an upstream FHIR R4 REST server.

use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::{AdapterError, BuildContext, SharedAdapter};

/// Settings of a `kind: fhir` adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirConfig {
    /// Base URL of the upstream FHIR R4 API, e.g. `https://ehr.example.org/fhir`.
    pub base_url: String,
    /// Seconds to wait for the TCP/TLS connection (default 5).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: f64,
    /// Seconds to wait for the whole upstream answer (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

fn default_connect_timeout() -> f64 {
    5.0
}

fn default_timeout() -> f64 {
    30.0
}

impl FhirConfig {
    /// Pure checks of the settings.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => problems.push(ConfigProblem::new(
                "base_url",
                "must be an absolute http(s) URL",
            )),
        }
        if !(self.timeout_seconds > 0.0) {
            problems.push(ConfigProblem::new("timeout_seconds", "must be > 0"));
        }
        if !(self.connect_timeout_seconds > 0.0) {
            problems.push(ConfigProblem::new("connect_timeout_seconds", "must be > 0"));
        }
        problems
    }
}

/// Builds the adapter (not yet implemented in this scaffold).
pub async fn build(
    name: &str,
    _config: &FhirConfig,
    _ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    Err(AdapterError::Config {
        adapter: name.to_owned(),
        detail: "fhir adapter not built yet".into(),
    })
}
