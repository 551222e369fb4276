//! Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture
//! Blog, 2015): the delay before the next attempt is uniform in `[0, cap]`, where the cap
//! grows by `multiplier` per failed attempt up to `max_ms`.

use std::time::Duration;

use super::RetryConfig;

/// Delay and give-up policy derived from a [`RetryConfig`].
#[derive(Debug, Clone)]
pub struct Backoff {
    config: RetryConfig,
}

impl Backoff {
    /// The policy of `config`.
    pub fn new(config: RetryConfig) -> Self {
        Self { config }
    }

    /// The cap of the delay after `attempts` failed attempts (`attempts ≥ 1`):
    /// `min(max_ms, initial_ms · multiplier^(attempts-1))`.
    pub fn cap(&self, attempts: u32) -> Duration {
        let c = &self.config;
        let exp = i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX);
        let ms = (c.initial_ms as f64) * c.multiplier.max(1.0).powi(exp);
        let ms = if ms.is_finite() {
            ms.min(c.max_ms as f64)
        } else {
            c.max_ms as f64
        };
        Duration::from_millis(ms as u64)
    }

    /// The delay before the next attempt after `attempts` failed ones: uniform in
    /// `[0, cap]` with jitter, the cap without.
    pub fn delay(&self, attempts: u32) -> Duration {
        let cap = self.cap(attempts);
        if !self.config.jitter {
            return cap;
        }
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        // uuid v4 draws from the OS random source; statistical quality is all we need.
        let r = (uuid::Uuid::new_v4().as_u128() >> 64) as u64;
        Duration::from_millis(r % cap_ms.saturating_add(1))
    }

    /// Whether to give up after `attempts` failed attempts on a message accepted
    /// `age` ago.
    pub fn exhausted(&self, attempts: u32, age: Duration) -> bool {
        let c = &self.config;
        (c.max_attempts > 0 && attempts >= c.max_attempts)
            || (c.max_age_seconds > 0 && age >= Duration::from_secs(c.max_age_seconds))
    }
}
