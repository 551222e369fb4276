//! The gateway's CapabilityStatement: built once from the routes, rendered per public base.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use fhirgate_adapters::interaction::{ALL, R4_RESOURCE_TYPES};
use fhirgate_adapters::outcome::FHIR_JSON;
use fhirgate_adapters::{FhirResponse, Interaction, ResponseBody};
use fhirgate_conformance::{CapabilityInput, ResourceCapability, capability_statement};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::state::AppState;

/// Rendered bodies kept per public base (a deployment has one or a few).
const MAX_BASES: usize = 32;

/// The CapabilityStatement input and its rendered JSON per public base URL.
#[derive(Default)]
pub struct Capability {
    input: Option<CapabilityInput>,
    rendered: Mutex<HashMap<String, Bytes>>,
}

impl Capability {
    /// Collects what the routes serve: each resource type with the type-level
    /// interactions some route serves, the search parameters of the adapter that serves
    /// its `search-type`, and the operations served on it (`rest.resource.operation`).
    pub fn build(state: &AppState) -> Self {
        let type_level = ALL.iter().copied().filter(|i| {
            !matches!(
                i,
                Interaction::HistorySystem
                    | Interaction::SearchSystem
                    | Interaction::Batch
                    | Interaction::Transaction
                    | Interaction::Capabilities
                    | Interaction::Operation
            )
        });
        let type_level: Vec<Interaction> = type_level.collect();
        let resources = R4_RESOURCE_TYPES
            .iter()
            .filter_map(|rt| {
                if *rt == "AuditEvent" {
                    // Served by the audit trail itself, whatever the routes say.
                    return Some(audit_event());
                }
                let served: Vec<Interaction> = type_level
                    .iter()
                    .copied()
                    .filter(|i| state.route(Some(rt), *i).is_some())
                    .collect();
                if served.is_empty() {
                    return None;
                }
                let searcher = state
                    .route(Some(rt), Interaction::SearchType)
                    .and_then(|adapters| adapters.first());
                let search_params = searcher.map(|a| a.search_params(rt)).unwrap_or_default();
                let (search_include, search_rev_include) =
                    searcher.map(|a| a.search_includes(rt)).unwrap_or_default();
                // Operations the gateway authorizes and some route (or the gateway) serves.
                let operations = crate::auth::OPERATIONS
                    .iter()
                    .filter(|op| op.resource_type == *rt && state.serves_operation(op))
                    .map(|op| op.name.to_owned())
                    .collect();
                Some(ResourceCapability {
                    resource_type: (*rt).to_owned(),
                    interactions: served.iter().map(|i| i.code().to_owned()).collect(),
                    search_params,
                    search_include,
                    search_rev_include,
                    operations,
                    conditional_create: served.contains(&Interaction::Create),
                    conditional_update: served.contains(&Interaction::Update),
                    update_create: served.contains(&Interaction::Update),
                })
            })
            .collect();
        let system_interactions = [
            Interaction::Transaction,
            Interaction::Batch,
            Interaction::SearchSystem,
            Interaction::HistorySystem,
        ]
        .into_iter()
        .filter(|i| state.route(None, *i).is_some())
        .map(|i| i.code().to_owned())
        .collect();
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "2026-01-01T00:00:00Z".into());
        let input = CapabilityInput {
            base_url: String::new(),
            software_name: "fhirgate".into(),
            software_version: env!("CARGO_PKG_VERSION").into(),
            date,
            resources,
            system_interactions,
            smart: crate::auth::discovery::smart_uris(&state.config.auth),
        };
        Self {
            input: Some(input),
            rendered: Mutex::default(),
        }
    }

    /// The `metadata` answer for `base_url` (`implementation.url`).
    pub fn response(&self, base_url: &str) -> FhirResponse {
        let body = self.rendered(base_url);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        FhirResponse {
            status: StatusCode::OK,
            headers,
            body: ResponseBody::Full(body),
        }
    }

    fn rendered(&self, base_url: &str) -> Bytes {
        let mut cache = self
            .rendered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(body) = cache.get(base_url) {
            return body.clone();
        }
        let Some(input) = &self.input else {
            return Bytes::new();
        };
        let mut input = input.clone();
        input.base_url = base_url.to_owned();
        let body = Bytes::from(capability_statement(&input).to_string());
        if cache.len() >= MAX_BASES {
            cache.clear();
        }
        cache.insert(base_url.to_owned(), body.clone());
        body
    }
}

/// AuditEvent as the audit trail serves it: read and search (`date`, `patient`, `agent`,
/// `action`), never written through the API (`policy::audit::search`).
fn audit_event() -> ResourceCapability {
    ResourceCapability {
        resource_type: "AuditEvent".into(),
        interactions: vec!["read".into(), "search-type".into()],
        search_params: [
            ("date", "date"),
            ("patient", "reference"),
            ("agent", "token"),
            ("action", "token"),
        ]
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect(),
        ..Default::default()
    }
}
