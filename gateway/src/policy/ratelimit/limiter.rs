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
        self.charge(key, client_id, 1).await
    }

    /// Charges a batch or transaction of `entries` entries that already paid 1 as a request:
    /// `min(entries, burst) − 1` more, so a Bundle costs what its entries would cost one by
    /// one, up to the burst (a larger one stays admissible with a full budget). `None` when
    /// nothing more is due.
    pub async fn charge_entries(
        &self,
        key: &str,
        client_id: Option<&str>,
        entries: usize,
    ) -> Option<Decision> {
        let burst = self.config.tier(client_id).1.burst.max(1);
        let cost = u32::try_from(entries).unwrap_or(u32::MAX).min(burst);
        if cost <= 1 {
            return None;
        }
        Some(self.charge(key, client_id, cost - 1).await)
    }

    /// Decides for a request that counts as `cost` requests (a batch or transaction of
    /// `cost` entries), clamped to 1..=the tier's burst so that any Bundle is admissible
    /// with a full budget; refused, nothing is spent.
    pub async fn charge(&self, key: &str, client_id: Option<&str>, cost: u32) -> Decision {
        let (tier_name, tier) = self.config.tier(client_id);
        let cost = cost.clamp(1, tier.burst.max(1));
        if let Some(redis) = &self.redis {
            match redis_gcra::check(redis, tier_name, key, tier, cost).await {
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
        self.local.check(tier_name, key, tier, cost)
    }
}
