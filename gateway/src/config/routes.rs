//! `routes:` — which adapter serves which resource types and interactions.

use fhirgate_adapters::interaction::is_resource_type;
use fhirgate_adapters::{AdapterConfig, Interaction};
use indexmap::IndexMap;
use serde::Deserialize;

/// One entry of `routes`. The first route matching a request's resource type and
/// interaction serves it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Resource type names this route serves, or `["*"]` for all (also system-level
    /// interactions such as `transaction` and `search-system`).
    pub resources: Vec<String>,
    /// Interaction codes (`read`, `vread`, `update`, `patch`, `delete`, `history-instance`,
    /// `history-type`, `history-system`, `create`, `search-type`, `search-system`, `batch`,
    /// `transaction`, `operation`) or `["*"]` for all. Default `["*"]`.
    #[serde(default = "all")]
    pub interactions: Vec<String>,
    /// Adapter instance names. Reads go to the first; writes go to every one in order (the
    /// first one's answer is the client's).
    pub adapters: Vec<String>,
}

fn all() -> Vec<String> {
    vec!["*".into()]
}

impl RouteConfig {
    /// Pure checks against the defined adapters; `(key.path, problem)` pairs relative to the route.
    pub fn validate(&self, adapters: &IndexMap<String, AdapterConfig>) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.resources.is_empty() {
            problems.push((
                "resources".into(),
                "list at least one resource type or \"*\"".into(),
            ));
        }
        for (i, r) in self.resources.iter().enumerate() {
            if r != "*" && !is_resource_type(r) {
                problems.push((
                    format!("resources[{i}]"),
                    format!("'{r}' is not an R4 resource type"),
                ));
            }
        }
        for (i, code) in self.interactions.iter().enumerate() {
            if code != "*" && Interaction::from_code(code).is_none() {
                problems.push((
                    format!("interactions[{i}]"),
                    format!("'{code}' is not a FHIR interaction code"),
                ));
            }
        }
        if self.adapters.is_empty() {
            problems.push(("adapters".into(), "name at least one adapter".into()));
        }
        for (i, a) in self.adapters.iter().enumerate() {
            if !adapters.contains_key(a) {
                problems.push((
                    format!("adapters[{i}]"),
                    format!("no adapter named '{a}' in `adapters`"),
                ));
            }
        }
        problems
    }

    /// Whether this route serves `interaction` on `resource_type` (`None` = system level).
    pub fn matches(&self, resource_type: Option<&str>, interaction: Interaction) -> bool {
        let type_ok = self
            .resources
            .iter()
            .any(|r| r == "*" || Some(r.as_str()) == resource_type);
        let interaction_ok = self
            .interactions
            .iter()
            .any(|i| i == "*" || i == interaction.code());
        type_ok && interaction_ok
    }
}
