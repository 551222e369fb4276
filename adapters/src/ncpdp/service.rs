//! The `ncpdp` adapter: builds the outbox, dispatcher and recovery, routes MedicationRequest
//! writes to the NewRx/CancelRx flows and everything else to the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fhirgate_conformance::IssueCode;
use fhirgate_mappings::ncpdp::ScheduledIngredients;
use http::StatusCode;
use serde_json::Value;

use super::cancel::cancel_rx;
use super::config::NcpdpConfig;
use super::credential;
use super::inbound::ScriptEndpoint;
use super::prescribe::new_rx;
use super::recovery::{PERIODIC_MIN_AGE, recover};
use super::state::{Core, Pharmacy};
use crate::interaction::Interaction;
use crate::outbox::{Backoff, Dispatcher, Inbox, Outbox};
use crate::outcome::error_response;
use crate::store_client::StoreClient;
use crate::{
    Adapter, AdapterError, BuildContext, Endpoint, FhirRequest, FhirResponse, SharedAdapter,
};

/// The e-prescribing adapter.
pub(crate) struct Ncpdp {
    core: Arc<Core>,
    recovery: tokio::task::AbortHandle,
}

impl Drop for Ncpdp {
    fn drop(&mut self) {
        self.recovery.abort();
    }
}

/// Builds the adapter `name`: resolves its store, loads the pharmacies' credentials, opens
/// the outbox, finishes messages a crash left `pending-store`, then starts delivering.
///
/// Errors: [`AdapterError::Config`] for an unknown store adapter, an unreadable credential
/// file or an outbox that cannot be opened; the recovery pass's store failures.
pub async fn build(
    name: &str,
    config: &NcpdpConfig,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    let store = ctx.adapter(name, &config.store)?;
    let mut pharmacies = HashMap::new();
    for p in &config.pharmacies {
        let outbound = credential::load(
            name,
            p.credential.as_ref(),
            p.credential_file.as_ref(),
            &ctx.data_dir,
        )?;
        let inbound = credential::load(
            name,
            p.inbound_credential.as_ref(),
            p.inbound_credential_file.as_ref(),
            &ctx.data_dir,
        )?;
        if inbound.is_none() {
            tracing::warn!(adapter = %name, pharmacy = %p.ncpdp_id, "no inbound credential: this pharmacy's messages are refused");
        }
        pharmacies.insert(
            p.ncpdp_id.clone(),
            Pharmacy {
                endpoint: p.endpoint.clone(),
                outbound,
                inbound,
            },
        );
    }
    let scheduled = match &config.controlled_substances.rxnorm_ingredients {
        Some(codes) => ScheduledIngredients::from_codes(codes.clone()),
        None => ScheduledIngredients::default(),
    };
    let outbox = Outbox::open(name, &config.outbox, &ctx.data_dir).await?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs_f64(config.timeout_seconds.min(10.0)))
        .build()
        .map_err(|e| AdapterError::Config {
            adapter: name.to_owned(),
            detail: format!("HTTP client: {e}"),
        })?;
    let core = Arc::new(Core {
        name: name.to_owned(),
        config: config.clone(),
        fhir: StoreClient {
            adapter: name.to_owned(),
            store,
        },
        inbox: Inbox::of(&outbox),
        outbox: outbox.clone(),
        pharmacies,
        scheduled,
        changes: ctx.changes.clone(),
        self_url: ctx.self_url.clone(),
        http,
        dispatcher: std::sync::OnceLock::new(),
    });
    let recovered = recover(&core, Duration::ZERO).await?;
    if recovered > 0 {
        tracing::info!(adapter = %name, recovered, "finished messages accepted before a restart");
    }
    // A lease outlives the slowest attempt, so no other claimer takes a message in flight.
    let lease = Duration::from_secs_f64(config.timeout_seconds * 2.0 + 5.0);
    let dispatcher = Dispatcher::spawn(
        outbox,
        core.clone(),
        Backoff::new(config.retry.clone()),
        config.outbox.concurrency,
        lease,
    );
    let _ = core.dispatcher.set(dispatcher);
    let periodic = core.clone();
    let recovery = tokio::spawn(async move {
        loop {
            tokio::time::sleep(PERIODIC_MIN_AGE).await;
            if let Err(e) = recover(&periodic, PERIODIC_MIN_AGE).await {
                tracing::warn!(adapter = %periodic.name, error = %e, "recovery pass failed");
            }
        }
    })
    .abort_handle();
    Ok(Arc::new(Ncpdp { core, recovery }))
}

/// DELETE of a MedicationRequest: an order still in force (intent `order`, status `active`
/// or `on-hold`) was sent to a pharmacy, and deleting it would leave the pharmacy filling a
/// prescription the prescriber believes gone. It answers 409: cancel it first by updating
/// its status to `cancelled` (which sends CancelRx); any other MedicationRequest is deleted
/// by the store.
async fn delete(core: &Core, req: FhirRequest) -> Result<FhirResponse, AdapterError> {
    if let Some(id) = req.id.as_deref()
        && let Some(current) = core
            .fhir
            .read("MedicationRequest", id, &req.base_url)
            .await?
        && current["intent"] == "order"
        && matches!(current["status"].as_str(), Some("active" | "on-hold"))
    {
        return Ok(error_response(
            StatusCode::CONFLICT,
            IssueCode::Processing,
            format!(
                "MedicationRequest/{id} is an order in force at a pharmacy: cancel it by updating \
                 its status to cancelled (a CancelRx is sent), then delete it"
            ),
        ));
    }
    core.fhir.store.handle(req).await
}

/// A new prescription to send: intent `order`, status `active`.
fn is_new_order(mr: &Value) -> bool {
    mr["intent"] == "order" && mr["status"] == "active"
}

#[async_trait::async_trait]
impl Adapter for Ncpdp {
    fn name(&self) -> &str {
        &self.core.name
    }

    async fn handle(&self, req: FhirRequest) -> Result<FhirResponse, AdapterError> {
        let core = &self.core;
        let is_mr = req.resource_type.as_deref() == Some("MedicationRequest");
        if is_mr && req.interaction == Interaction::Delete {
            return delete(core, req).await;
        }
        if !is_mr || !matches!(req.interaction, Interaction::Create | Interaction::Update) {
            return core.fhir.store.handle(req).await;
        }
        let mr: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(error_response(
                    StatusCode::BAD_REQUEST,
                    IssueCode::Structure,
                    format!("the body is not JSON: {e}"),
                ));
            }
        };
        if mr["resourceType"] != "MedicationRequest" {
            return core.fhir.store.handle(req).await;
        }
        match (req.interaction, req.id.clone()) {
            (Interaction::Create, _) if is_new_order(&mr) => new_rx(core, req, mr, None).await,
            (Interaction::Update, Some(id))
                if mr["status"] == "cancelled" || mr["status"] == "stopped" =>
            {
                cancel_rx(core, req, mr, id).await
            }
            (Interaction::Update, Some(id)) if is_new_order(&mr) => {
                let exists = core
                    .fhir
                    .read("MedicationRequest", &id, &req.base_url)
                    .await?
                    .is_some();
                if exists {
                    core.fhir.store.handle(req).await
                } else {
                    new_rx(core, req, mr, Some(id)).await
                }
            }
            _ => core.fhir.store.handle(req).await,
        }
    }

    async fn check(&self) -> Result<(), AdapterError> {
        self.core.outbox.counts().await.map(|_| ())?;
        self.core.fhir.store.check().await
    }

    fn search_params(&self, resource_type: &str) -> Vec<(String, String)> {
        self.core.fhir.store.search_params(resource_type)
    }

    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        vec![Arc::new(ScriptEndpoint {
            core: self.core.clone(),
        })]
    }
}
