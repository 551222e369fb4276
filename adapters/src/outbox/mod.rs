//! A durable outbox (transactional-outbox pattern) and inbox for adapters that send
//! messages to systems behind the gateway: messages are written to SQLite (`synchronous=FULL`)
//! or PostgreSQL before they are acknowledged, delivered at least once by a background
//! dispatcher with leases, retries and exponential backoff with full jitter, and received
//! message ids are remembered with their answers so a repeat is answered the same.
//!
//! Protocol-free: payloads and contexts are opaque text; the adapter supplies delivery
//! ([`Deliver`]). Used by the `ncpdp` adapter and meant for the HL7 v2 MLLP adapter.

mod backoff;
mod config;
mod db;
mod dispatch;
mod inbox;
mod message;
mod queue;

pub use backoff::Backoff;
pub use config::{OutboxConfig, RetryConfig};
pub use db::now_ms;
pub use dispatch::{Deliver, Delivery, Dispatcher};
pub use inbox::Inbox;
pub use message::{Enqueued, Message, MessageState, NewMessage, StateCounts};
pub use queue::Outbox;

#[cfg(test)]
mod tests;
