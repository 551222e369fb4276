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
mod local;
mod redis_gcra;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use config::{RateLimitsConfig, Tier};

use crate::policy::shared::RedisShared;

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

/// The limiter: tiers from config, local state, and the optional Redis path.
pub struct Limiter {
    config: RateLimitsConfig,
    local: local::LocalLimits,
    redis: Option<RedisShared>,
    /// Whether the last Redis decision failed (logs once per outage, not per request).
    degraded: AtomicBool,
}

impl Limiter {
    /// Builds the tiers and starts the housekeeping task that calls `retain_recent()`.
    pub fn build(config: &RateLimitsConfig, redis: Option<RedisShared>) -> Self {
        let local = local::LocalLimits::new(config);
        local.spawn_housekeeping(Duration::from_secs(config.retain_recent_seconds.max(1)));
        Self {
            config: config.clone(),
            local,
            redis,
            degraded: AtomicBool::new(false),
        }
    }

    /// Whether limits are on.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Decides for `key` (`client:<id>` or `ip:<addr>`); `client_id` picks the tier.
    pub async fn check(&self, key: &str, client_id: Option<&str>) -> Decision {
        let (tier_name, tier) = self.config.tier(client_id);
        if let Some(redis) = &self.redis {
            match redis_gcra::check(redis, tier_name, key, tier).await {
                Ok(d) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::info!("redis rate limits back in use");
                    }
                    return d;
                }
                Err(e) => {
                    metrics::counter!("fhirgate_ratelimit_redis_fallback_total").increment(1);
                    if !self.degraded.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "redis rate limit unavailable; using local limits");
                    }
                }
            }
        }
        self.local.check(tier_name, key, tier)
    }
}
