//! Per-client rate limits (GCRA): local with `governor`, one global budget across replicas
//! with `shared_state.redis` (an atomic Lua script per request), falling back to local
//! limits while Redis is unreachable. Limits fail open; authentication never does.
//!
//! Why not `tower_governor`: its layer takes one quota for every key, while fhirgate gives
//! clients their own tiers; it answers plain-text 429/500, and it has no place for the
//! Redis path. The layer here is a thin middleware over `governor`'s keyed limiters.

pub mod config;
pub mod gcra;
pub mod layer;
mod limiter;
mod local;
mod redis_gcra;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use config::{RateLimitsConfig, Tier};
pub use limiter::Limiter;

/// One rate-limit decision, with what the IETF RateLimit header fields report
/// (draft-ietf-httpapi-ratelimit-headers-07 §3: `RateLimit-Limit`, `-Remaining`, `-Reset`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The tier's burst (requests available at once).
    pub limit: u32,
    /// Requests still available right now.
    pub remaining: u32,
    /// Until the full burst is available again.
    pub reset: Duration,
    /// When refused: until one request is allowed (`Retry-After`, RFC 9110 §10.2.3).
    pub retry_after: Duration,
}
