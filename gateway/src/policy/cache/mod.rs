//! The response cache (moka, size-aware): GET read, vread, search and `metadata`, keyed by
//! the normalized request and the caller's effective access; invalidated by successful
//! writes, and across replicas through Redis pub/sub when `shared_state.redis` is set.

pub mod config;
pub mod key;
pub mod layer;
mod pubsub;
mod store;
#[cfg(test)]
mod tests;

pub use config::CacheConfig;
pub use key::Touched;
pub use store::{Entry, ResponseCache};
