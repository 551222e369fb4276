//! The outbox's message shapes: states, a message to enqueue, a stored message and its
//! row mapping.

use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Accepted, but the adapter's own writes (e.g. the FHIR resources it answers with)
    /// are not known to be done: finished by the adapter, or by its recovery pass after a
    /// crash. Never delivered in this state.
    PendingStore,
    /// Waiting for (re)delivery.
    Ready,
    /// Delivered; `result` holds the receiver's answer.
    Delivered,
    /// Given up: refused by the receiver or retries exhausted; `last_error` says why.
    Failed,
}

impl MessageState {
    /// The state as stored: `pending-store`, `ready`, `delivered`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingStore => "pending-store",
            Self::Ready => "ready",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub(super) fn parse(s: &str) -> Self {
        match s {
            "pending-store" => Self::PendingStore,
            "ready" => Self::Ready,
            "delivered" => Self::Delivered,
            _ => Self::Failed,
        }
    }
}

/// A message to enqueue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Unique key: enqueuing the same key again returns the existing message instead.
    pub dedupe_key: String,
    /// The protocol's message id, assigned now and kept through every retry.
    pub message_id: String,
    /// Where it goes, as the adapter names destinations (e.g. a pharmacy's NCPDP ID).
    pub destination: String,
    /// The message type, for logs and metrics (e.g. `NewRx`).
    pub kind: String,
    /// The message as sent on the wire.
    pub payload: String,
    /// Adapter data needed to finish or react to the message (e.g. JSON of FHIR bodies).
    pub context: String,
    /// Initial state: [`MessageState::PendingStore`] or [`MessageState::Ready`].
    pub state: MessageState,
}

/// A stored message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Row number (increasing in enqueue order).
    pub seq: i64,
    /// See [`NewMessage::dedupe_key`].
    pub dedupe_key: String,
    /// See [`NewMessage::message_id`].
    pub message_id: String,
    /// See [`NewMessage::destination`].
    pub destination: String,
    /// See [`NewMessage::kind`].
    pub kind: String,
    /// See [`NewMessage::payload`].
    pub payload: String,
    /// See [`NewMessage::context`].
    pub context: String,
    /// Current state.
    pub state: MessageState,
    /// Delivery attempts started so far (a claimed message counts its current attempt).
    pub attempts: u32,
    /// When it was enqueued, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// The last failure, empty when none.
    pub last_error: String,
    /// The receiver's answer once delivered, empty before.
    pub result: String,
}

/// What [`super::Outbox::enqueue`] did.
#[derive(Debug, Clone)]
pub enum Enqueued {
    /// A new message was stored.
    New(Message),
    /// A message with the same dedupe key already existed; nothing was stored.
    Existing(Message),
}

/// Messages per state, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// `pending-store` messages.
    pub pending_store: u64,
    /// `ready` messages.
    pub ready: u64,
    /// `delivered` messages.
    pub delivered: u64,
    /// `failed` messages.
    pub failed: u64,
}

/// A stored message from its row (columns as in `queue::COLUMNS`).
pub(super) fn from_row(row: &AnyRow) -> Result<Message, sqlx::Error> {
    let state: String = row.try_get("state")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Message {
        seq: row.try_get("seq")?,
        dedupe_key: row.try_get("dedupe_key")?,
        message_id: row.try_get("message_id")?,
        destination: row.try_get("destination")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        context: row.try_get("context")?,
        state: MessageState::parse(&state),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        created_at_ms: row.try_get("created_at")?,
        last_error: row.try_get("last_error")?,
        result: row.try_get("result")?,
    })
}
