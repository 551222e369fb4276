//! The change feed: resources an adapter wrote on its own (not as the answer to a request
//! through the edge), so the gateway's response cache can drop what they make stale.

use tokio::sync::broadcast;

/// Capacity of the broadcast channel; a subscriber that falls this far behind is told it
/// lagged and must treat everything as changed.
const CAPACITY: usize = 1024;

/// One resource written by an adapter: `resource_type` and logical `id`
/// (e.g. `Task`, `6c9…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// FHIR resource type, e.g. `MedicationDispense`.
    pub resource_type: String,
    /// Logical id of the written resource.
    pub id: String,
}

/// A broadcast of [`Change`]s (tokio `broadcast`): adapters publish, the gateway's cache
/// subscribes. Cheap to clone; publishing with no subscriber is a no-op.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    tx: broadcast::Sender<Change>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeFeed {
    /// A feed holding up to 1024 undelivered changes per subscriber.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx }
    }

    /// Announces that `resource_type/id` was written (created, updated or deleted).
    pub fn publish(&self, resource_type: &str, id: &str) {
        let _ = self.tx.send(Change {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
        });
    }

    /// A receiver of every change published from now on. `recv` answers
    /// `RecvError::Lagged` when the receiver fell more than 1024 changes behind.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }
}
