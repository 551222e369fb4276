//! Shared application state: the loaded config, the built adapters and the route table.

use std::sync::Arc;

use fhirgate_adapters::{Interaction, SharedAdapter};
use indexmap::IndexMap;

use crate::capability::Capability;
use crate::config::Config;

/// Everything request handlers share, behind an `Arc`.
pub struct AppState {
    /// The validated configuration.
    pub config: Config,
    /// Built adapters by instance name.
    pub adapters: IndexMap<String, SharedAdapter>,
    /// The CapabilityStatement, rendered per public base.
    pub capability: Capability,
    /// SMART authorization (token validation, sandbox authorization server).
    pub auth: crate::auth::Auth,
    /// Edge policy: rate limits, response cache, audit trail (all off until
    /// `server::build_state` builds them; router tests run without).
    pub policy: crate::policy::Policy,
    /// The process-wide budget of buffered request bodies
    /// (`server.max_buffered_request_bytes`).
    pub admission: Arc<crate::policy::admission::BodyBudget>,
    /// The upstream FHIR adapters' bases, under which an absolute reference is local
    /// (built once; each request adds its own public base).
    pub upstream_bases: crate::auth::local_base::LocalBases,
    /// Routes resolved to adapter handles, in config order.
    routes: Vec<(crate::config::RouteConfig, Vec<SharedAdapter>)>,
}

impl AppState {
    /// Builds the state from a validated config and its built adapters (every adapter a
    /// route names must be present; `Config::validate` guarantees it for loaded configs).
    ///
    /// No I/O: the sandbox authorization server stays off (use [`AppState::with_auth`]).
    pub fn new(config: Config, adapters: IndexMap<String, SharedAdapter>) -> Self {
        let auth = crate::auth::Auth::new(&config.auth, None)
            .unwrap_or_else(|_| crate::auth::Auth::deny_all());
        Self::with_auth(config, adapters, auth)
    }

    /// Like [`AppState::new`] with a built [`crate::auth::Auth`] (see `Auth::build`).
    pub fn with_auth(
        config: Config,
        adapters: IndexMap<String, SharedAdapter>,
        auth: crate::auth::Auth,
    ) -> Self {
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let handles = r
                    .adapters
                    .iter()
                    .filter_map(|name| adapters.get(name).cloned())
                    .collect();
                (r.clone(), handles)
            })
            .collect::<Vec<_>>();
        let admission = Arc::new(
            crate::policy::admission::BodyBudget::new(
                config.server.max_buffered_request_bytes.as_u64(),
                config.server.body_limit.as_u64(),
                crate::policy::admission::ADMISSION_WAIT,
            )
            .with_client_share(config.server.client_share_bytes()),
        );
        let upstream_bases = crate::auth::upstream_bases(&config);
        let mut state = Self {
            upstream_bases,
            admission,
            config,
            adapters,
            capability: Capability::default(),
            auth,
            policy: crate::policy::Policy::default(),
            routes,
        };
        state.capability = Capability::build(&state);
        state
    }

    /// The adapters of the first route serving `interaction` on `resource_type`
    /// (`None` = system level), or `None` when no route does.
    pub fn route(
        &self,
        resource_type: Option<&str>,
        interaction: Interaction,
    ) -> Option<&[SharedAdapter]> {
        self.routes
            .iter()
            .find(|(route, handles)| {
                !handles.is_empty() && route.matches(resource_type, interaction)
            })
            .map(|(_, handles)| handles.as_slice())
    }

    /// Whether `operation` is served here: the gateway's own ones always; the others when
    /// the first route serving operations on its resource type sends them to an adapter
    /// that answers it ([`fhirgate_adapters::Adapter::serves_operation`]).
    pub fn serves_operation(&self, operation: &crate::auth::OperationDef) -> bool {
        if operation.own {
            return true;
        }
        self.routes
            .iter()
            .find(|(route, handles)| {
                !handles.is_empty()
                    && route.matches(Some(operation.resource_type), Interaction::Operation)
            })
            .and_then(|(_, handles)| handles.first())
            .is_some_and(|adapter| {
                adapter.serves_operation(Some(operation.resource_type), operation.name)
            })
    }
}
