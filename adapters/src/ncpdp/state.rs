//! The state the adapter, its dispatcher and its inbound endpoint share.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use fhirgate_mappings::ncpdp::ScheduledIngredients;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::NcpdpConfig;
use super::credential::Secret;
use crate::ChangeFeed;
use crate::outbox::{Dispatcher, Inbox, Outbox};
use crate::store_client::StoreClient;

/// `Task.identifier.system` of the SCRIPT MessageID a Task tracks.
pub(crate) const MESSAGE_ID_SYSTEM: &str = "http://fhirgate.dev/NamingSystem/ncpdp-message-id";

/// The task-code CodeSystem (FHIR R4 `http://hl7.org/fhir/CodeSystem/task-code`).
pub(crate) const TASK_CODE: &str = "http://hl7.org/fhir/CodeSystem/task-code";

/// One configured pharmacy with its secrets loaded.
pub(crate) struct Pharmacy {
    /// URL or gateway path its messages are POSTed to.
    pub endpoint: String,
    /// Password we present (HTTP Basic, user `sender_id`).
    pub outbound: Option<Secret>,
    /// Password it presents on `/ncpdp/script`.
    pub inbound: Option<Secret>,
}

/// Shared by the adapter, the dispatcher's delivery and the inbound endpoint.
pub(crate) struct Core {
    /// Adapter instance name.
    pub name: String,
    /// Settings.
    pub config: NcpdpConfig,
    /// The store adapter.
    pub fhir: StoreClient,
    /// Durable outbox.
    pub outbox: Arc<Outbox>,
    /// Received inbound MessageIDs and their answers.
    pub inbox: Inbox,
    /// Pharmacies by NCPDP ID.
    pub pharmacies: HashMap<String, Pharmacy>,
    /// Scheduled-drug ingredient list.
    pub scheduled: ScheduledIngredients,
    /// Announces resources written outside a client request.
    pub changes: ChangeFeed,
    /// The gateway's own URL, once bound.
    pub self_url: Arc<OnceLock<url::Url>>,
    /// HTTP client for deliveries.
    pub http: reqwest::Client,
    /// The dispatcher, set right after it is started (it holds this state as its
    /// delivery, so the two live as long as the adapter's process).
    pub dispatcher: OnceLock<Dispatcher>,
}

impl Core {
    /// The FHIR base used for writes made outside a client request (links in those
    /// answers are discarded).
    pub fn internal_base(&self) -> String {
        match self.self_url.get() {
            Some(u) => format!("{}/fhir", u.as_str().trim_end_matches('/')),
            None => "http://localhost/fhir".into(),
        }
    }

    /// The URL messages to `pharmacy` are POSTed to; `None` while a gateway-relative
    /// endpoint cannot be resolved (the listener is not bound yet).
    pub fn endpoint_url(&self, pharmacy: &Pharmacy) -> Option<url::Url> {
        if pharmacy.endpoint.starts_with('/') {
            self.self_url.get()?.join(&pharmacy.endpoint).ok()
        } else {
            url::Url::parse(&pharmacy.endpoint).ok()
        }
    }

    /// Announces a resource this adapter wrote, for the gateway's cache.
    pub fn publish(&self, resource: &Value) {
        if let (Some(rt), Some(id)) = (resource["resourceType"].as_str(), resource["id"].as_str()) {
            self.changes.publish(rt, id);
        }
    }
}

/// A FHIR id derived from `parts` (`prefix-` + 32 hex of SHA-256): stable across retries
/// and replicas, at most 35 characters (fits SCRIPT `PrescriberOrderNumber`, an..35).
pub(crate) fn derived_id(prefix: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}-{hex}")
}

/// Now as an RFC 3339 UTC timestamp with second precision, e.g. `2026-01-15T09:30:00Z`.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
