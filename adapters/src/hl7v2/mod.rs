//! `kind: hl7v2` — an HL7 v2 EHR over MLLP (issue 9 items 2–3): Appointment and Encounter
//! writes routed to the adapter become SIU/ADT messages delivered at least once through the
//! durable outbox (one MSH-10 through every retry, ACK read back); an MLLP listener maps the
//! EHR's SIU/ADT/ORU/RDE messages to FHIR and writes them to the `store` adapter before it
//! ACKs. The pure mappings are `fhirgate_mappings::hl7v2`; MLLP framing is [`mllp`].
//!
//! Routing: list the adapter after the store for the writes that should also reach the HL7 v2
//! EHR (`resources: [Appointment, Encounter], interactions: [create, update], adapters:
//! [store, ehr-v2]`): the store's answer is the client's, and this adapter queues the
//! message (see [`outbound`] for its answer and what happens when queuing fails). Listed
//! alone, Appointment/Encounter writes go to the HL7 v2 EHR only. Other interactions are
//! answered from the store.

mod config;
mod inbound;
mod merge;
pub mod mllp;
pub mod outbound;
mod store;

use std::sync::Arc;
use std::time::Duration;

pub use config::{Hl7v2Config, ListenConfig, SendConfig, VirtualMarkerConfig, ZSegmentsConfig};
pub use outbound::PRIMARY_LOCATION;

use self::store::Core;
use crate::interaction::Interaction;
use crate::outbox::{Backoff, Dispatcher, Inbox, Outbox};
use crate::store_client::StoreClient;
use crate::{Adapter, AdapterError, BuildContext, FhirRequest, FhirResponse, SharedAdapter};

/// The HL7 v2 adapter.
struct Hl7v2 {
    core: Arc<Core>,
    _dispatcher: Option<Dispatcher>,
    listener: Option<tokio::task::AbortHandle>,
}

impl Drop for Hl7v2 {
    fn drop(&mut self) {
        if let Some(l) = &self.listener {
            l.abort();
        }
    }
}

/// Builds the adapter `name`: resolves its store, opens the outbox, starts the dispatcher
/// (with `send`) and binds the listener (with `listen`).
///
/// Errors: [`AdapterError::Config`] for an unknown store adapter, an outbox that cannot be
/// opened, or a listen address that cannot be bound.
pub async fn build(
    name: &str,
    config: &Hl7v2Config,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    let store = ctx.adapter(name, &config.store)?;
    let outbox = Outbox::open(name, &config.outbox, &ctx.data_dir).await?;
    let core = Arc::new(Core {
        name: name.to_owned(),
        config: config.clone(),
        fhir: StoreClient {
            adapter: name.to_owned(),
            store,
        },
        inbox: Inbox::of(&outbox),
        outbox: outbox.clone(),
        changes: ctx.changes.clone(),
        mapping: config.mapping_context(),
        write: config.write_options(),
    });
    let dispatcher = config.send.as_ref().map(|send| {
        let lease = Duration::from_millis(send.connect_timeout_ms + send.ack_timeout_ms)
            + Duration::from_secs(5);
        Dispatcher::spawn(
            outbox,
            core.clone(),
            Backoff::new(config.retry.clone()),
            config.outbox.concurrency,
            lease,
        )
    });
    let listener = match &config.listen {
        Some(l) => Some(
            inbound::listen(core.clone(), &l.address, &ctx.data_dir)
                .await
                .map_err(|e| AdapterError::Config {
                    adapter: name.to_owned(),
                    detail: format!("listen {}: {e}", l.address),
                })?
                .1,
        ),
        None => None,
    };
    Ok(Arc::new(Hl7v2 {
        core,
        _dispatcher: dispatcher,
        listener,
    }))
}

#[async_trait::async_trait]
impl Adapter for Hl7v2 {
    fn name(&self) -> &str {
        &self.core.name
    }

    async fn handle(&self, req: FhirRequest) -> Result<FhirResponse, AdapterError> {
        let mapped_type = matches!(
            req.resource_type.as_deref(),
            Some("Appointment" | "Encounter")
        );
        if mapped_type && matches!(req.interaction, Interaction::Create | Interaction::Update) {
            return outbound::accept(&self.core, req).await;
        }
        self.core.fhir.store.handle(req).await
    }

    /// Ready when the outbox database answers and, with `send`, the EHR accepts a TCP
    /// connection.
    async fn check(&self) -> Result<(), AdapterError> {
        self.core.outbox.counts().await?;
        if let Some(send) = &self.core.config.send {
            let connect = tokio::net::TcpStream::connect((send.host.as_str(), send.port));
            match tokio::time::timeout(Duration::from_millis(send.connect_timeout_ms), connect)
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return Err(AdapterError::Unreachable {
                        adapter: self.core.name.clone(),
                        detail: format!("MLLP peer: {}", e.kind()),
                    });
                }
                Err(_) => {
                    return Err(AdapterError::Unreachable {
                        adapter: self.core.name.clone(),
                        detail: "MLLP peer: connect timed out".into(),
                    });
                }
            }
        }
        Ok(())
    }

    fn search_params(&self, resource_type: &str) -> Vec<(String, String)> {
        self.core.fhir.store.search_params(resource_type)
    }
}
