//! The GCRA arithmetic (pure), shared by the Redis script and the tests: the same formulas
//! the Lua script in `redis_gcra` runs, in milliseconds.
//!
//! State is the theoretical arrival time `tat`. With emission interval `T = 1000/per_second`
//! ms and tolerance `τ = T·burst`, a request at `now` is allowed iff
//! `max(tat, now) + T − τ ≤ now`; then `tat' = max(tat, now) + T`. A request that costs
//! `n` (a batch of `n` entries) counts as `n` arrivals at once: `T` becomes `n·T`.

use std::time::Duration;

use super::{Decision, Tier};

/// The decision and the new `tat` (unchanged when refused) for a request of cost 1.
pub fn decide(tat: Option<f64>, now: f64, tier: Tier) -> (Decision, f64) {
    decide_n(tat, now, tier, 1)
}

/// The decision and the new `tat` (unchanged when refused) for a request of cost `cost`
/// (at most the tier's burst, or it could never be allowed).
pub fn decide_n(tat: Option<f64>, now: f64, tier: Tier, cost: u32) -> (Decision, f64) {
    let t = 1000.0 / tier.per_second;
    let tau = t * f64::from(tier.burst);
    let tat = tat.map_or(now, |x| x.max(now));
    let new_tat = tat + t * f64::from(cost.clamp(1, tier.burst.max(1)));
    let allow_at = new_tat - tau;
    let ms = |v: f64| Duration::from_micros((v.max(0.0) * 1000.0) as u64);
    if now < allow_at {
        let decision = Decision {
            allowed: false,
            limit: tier.burst,
            remaining: 0,
            reset: ms(tat - now),
            retry_after: ms(allow_at - now),
        };
        return (decision, tat);
    }
    let remaining = ((tau - (new_tat - now)) / t).floor().max(0.0) as u32;
    let decision = Decision {
        allowed: true,
        limit: tier.burst,
        remaining,
        reset: ms(new_tat - now),
        retry_after: Duration::ZERO,
    };
    (decision, new_tat)
}
