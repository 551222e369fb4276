//! The limiter: picks the tier, asks Redis for the global decision, falls back to local.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Decision, RateLimitsConfig, local, redis_gcra};
use crate::policy::shared::RedisShared;

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
