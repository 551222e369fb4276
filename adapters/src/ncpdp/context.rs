//! What an outbox message of this adapter carries besides the SCRIPT XML: the FHIR bodies
//! to write before it may be sent (two-phase acceptance) and the Tasks its answers update.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Outbox dedupe-key prefix of a NewRx (`NewRx|<MedicationRequest id>`).
pub(crate) const NEW_RX: &str = "NewRx";
/// Outbox dedupe-key prefix of a CancelRx (`CancelRx|<MedicationRequest id>`).
pub(crate) const CANCEL_RX: &str = "CancelRx";

/// The outbox dedupe key of message `kind` for MedicationRequest `id`.
pub(crate) fn dedupe_key(kind: &str, id: &str) -> String {
    format!("{kind}|{id}")
}

/// The JSON `context` of an outbox message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Context {
    /// The MedicationRequest as it must be stored (with its id).
    pub medication_request: Value,
    /// The Task tracking this message (fulfill for NewRx, abort for CancelRx).
    pub task: Value,
    /// For CancelRx: the id of the NewRx's fulfill Task (a CancelRxResponse updates it).
    #[serde(default)]
    pub fulfill_task: Option<String>,
}

impl Context {
    /// The MedicationRequest id.
    pub fn medication_request_id(&self) -> &str {
        self.medication_request["id"].as_str().unwrap_or_default()
    }

    /// The tracking Task's id.
    pub fn task_id(&self) -> &str {
        self.task["id"].as_str().unwrap_or_default()
    }

    /// Parses a stored context; `None` when it is not one of ours.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}
