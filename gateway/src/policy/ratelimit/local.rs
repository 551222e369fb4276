//! Local limits: one `governor` keyed limiter per tier, swept with `retain_recent()`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use indexmap::IndexMap;

use super::{Decision, RateLimitsConfig, Tier};

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The per-tier limiters.
pub struct LocalLimits {
    tiers: Arc<IndexMap<String, Keyed>>,
    clock: DefaultClock,
}

fn quota(tier: Tier) -> Quota {
    let burst = NonZeroU32::new(tier.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let period = Duration::from_secs_f64(1.0 / tier.per_second.max(1e-6));
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LocalLimits {
    /// One limiter for `default`, `anonymous` and each listed client.
    pub fn new(config: &RateLimitsConfig) -> Self {
        let mut tiers = IndexMap::new();
        for (name, tier) in [("default", config.default), ("anonymous", config.anonymous)]
            .into_iter()
            .chain(config.clients.iter().map(|(k, t)| (k.as_str(), *t)))
        {
            tiers.insert(
                name.to_owned(),
                RateLimiter::keyed(quota(tier)).with_middleware::<StateInformationMiddleware>(),
            );
        }
        Self {
            tiers: Arc::new(tiers),
            clock: DefaultClock::default(),
        }
    }

    /// Sweeps idle keys every `every` (governor's store grows until `retain_recent`).
    pub fn spawn_housekeeping(&self, every: Duration) {
        let tiers = Arc::downgrade(&self.tiers);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(tiers) = tiers.upgrade() else { return };
                for limiter in tiers.values() {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        });
    }

    /// Decides locally for a request of `cost` (1 to the tier's burst).
    pub fn check(&self, tier_name: &str, key: &str, tier: Tier, cost: u32) -> Decision {
        let Some(limiter) = self.tiers.get(tier_name) else {
            return Decision {
                allowed: true,
                limit: tier.burst,
                remaining: tier.burst,
                reset: Duration::ZERO,
                retry_after: Duration::ZERO,
            };
        };
        let period = Duration::from_secs_f64(1.0 / tier.per_second.max(1e-6));
        let n = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
        // A cost above the burst is clamped by the caller; were it not, spend the burst.
        let decided = limiter
            .check_key_n(&key.to_owned(), n)
            .unwrap_or_else(|_| limiter.check_key(&key.to_owned()));
        match decided {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: tier.burst,
                    remaining,
                    reset: period * (tier.burst.saturating_sub(remaining)),
                    retry_after: Duration::ZERO,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Decision {
                    allowed: false,
                    limit: tier.burst,
                    remaining: 0,
                    reset: period * tier.burst,
                    retry_after: wait,
                }
            }
        }
    }
}
