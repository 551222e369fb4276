//! Unit tests: GCRA arithmetic (the formulas the Redis script runs) and tier selection.

use std::time::Duration;

use super::gcra::{decide, decide_n};
use super::{RateLimitsConfig, Tier};

const TIER: Tier = Tier {
    per_second: 10.0,
    burst: 5,
};

#[test]
fn a_fresh_key_gets_exactly_its_burst_then_is_refused() {
    let mut tat = None;
    for i in 0..5 {
        let (d, t) = decide(tat, 1000.0, TIER);
        assert!(d.allowed, "request {i}");
        assert_eq!(d.remaining, 4 - i);
        tat = Some(t);
    }
    let (d, t) = decide(tat, 1000.0, TIER);
    assert!(!d.allowed);
    assert_eq!(d.remaining, 0);
    assert_eq!(d.retry_after, Duration::from_millis(100));
    assert_eq!(t, tat.expect("tat"), "a refusal does not spend");
}

#[test]
fn the_budget_refills_at_the_sustained_rate() {
    let mut tat = None;
    for _ in 0..5 {
        tat = Some(decide(tat, 0.0, TIER).1);
    }
    assert!(!decide(tat, 99.0, TIER).0.allowed);
    let (d, _) = decide(tat, 100.0, TIER);
    assert!(d.allowed);
    assert_eq!(d.remaining, 0);
    let (full, _) = decide(tat, 10_000.0, TIER);
    assert_eq!(full.remaining, 4);
    assert_eq!(full.reset, Duration::from_millis(100));
}

#[test]
fn a_request_of_cost_n_spends_n_and_a_cost_above_the_burst_spends_the_burst() {
    let (d, tat) = decide_n(None, 0.0, TIER, 3);
    assert!(d.allowed);
    assert_eq!(d.remaining, 2);
    assert_eq!(tat, 300.0);
    let (d, same) = decide_n(Some(tat), 0.0, TIER, 3);
    assert!(!d.allowed, "2 left, 3 asked");
    assert_eq!(d.retry_after, Duration::from_millis(100));
    assert_eq!(same, tat);
    let (d, tat) = decide_n(None, 0.0, TIER, 50);
    assert!(d.allowed, "clamped to the burst of 5");
    assert_eq!(d.remaining, 0);
    assert_eq!(tat, 500.0);
}

#[test]
fn clients_get_their_tier_and_anonymous_callers_theirs() {
    let mut c = RateLimitsConfig::default();
    c.clients.insert(
        "big".into(),
        Tier {
            per_second: 500.0,
            burst: 1000,
        },
    );
    assert_eq!(c.tier(Some("big")).1.burst, 1000);
    assert_eq!(c.tier(Some("other")).0, "default");
    assert_eq!(c.tier(None).0, "anonymous");
    c.default.burst = 0;
    assert_eq!(c.validate()[0].0, "rate_limits.default.burst");
}
