//! The adapter's shared state; its FHIR calls go to its store adapter through
//! [`StoreClient`].

use std::sync::Arc;

use super::config::Hl7v2Config;
use crate::ChangeFeed;
use crate::outbox::{Inbox, Outbox};
pub(crate) use crate::store_client::{StoreClient, local_target};

/// Everything the adapter's request handler, dispatcher and listener share.
pub(crate) struct Core {
    /// Adapter name.
    pub name: String,
    /// Its settings.
    pub config: Hl7v2Config,
    /// The store adapter, as this adapter calls it.
    pub fhir: StoreClient,
    /// Outbound messages until ACKed.
    pub outbox: Arc<Outbox>,
    /// Inbound control ids and their ACKs.
    pub inbox: Inbox,
    /// Where inbound writes are announced.
    pub changes: ChangeFeed,
    /// Inbound mapping settings.
    pub mapping: fhirgate_mappings::hl7v2::Context,
    /// Outbound mapping settings.
    pub write: fhirgate_mappings::hl7v2::WriteOptions,
}
