//! Unit tests of the backoff policy and config validation.

use std::time::Duration;

use super::{Backoff, OutboxConfig, RetryConfig};

fn retry(jitter: bool) -> RetryConfig {
    RetryConfig {
        initial_ms: 100,
        max_ms: 1000,
        multiplier: 2.0,
        jitter,
        max_attempts: 5,
        max_age_seconds: 60,
    }
}

#[test]
fn the_cap_grows_exponentially_up_to_max_ms() {
    let b = Backoff::new(retry(false));
    let caps: Vec<u128> = (1..=6).map(|n| b.cap(n).as_millis()).collect();
    assert_eq!(caps, vec![100, 200, 400, 800, 1000, 1000]);
    assert_eq!(b.delay(3), Duration::from_millis(400), "no jitter: the cap");
    assert_eq!(b.cap(u32::MAX), Duration::from_millis(1000));
}

#[test]
fn full_jitter_stays_below_the_cap_and_spreads() {
    let b = Backoff::new(retry(true));
    let delays: Vec<u128> = (0..200).map(|_| b.delay(4).as_millis()).collect();
    assert!(delays.iter().all(|d| *d <= 800));
    let distinct: std::collections::HashSet<_> = delays.iter().collect();
    assert!(
        distinct.len() > 50,
        "jitter spreads delays: {}",
        distinct.len()
    );
}

#[test]
fn gives_up_after_max_attempts_or_max_age() {
    let b = Backoff::new(retry(true));
    assert!(!b.exhausted(4, Duration::from_secs(1)));
    assert!(b.exhausted(5, Duration::from_secs(1)));
    assert!(b.exhausted(1, Duration::from_secs(60)));
    let unlimited = Backoff::new(RetryConfig {
        max_attempts: 0,
        max_age_seconds: 0,
        ..retry(true)
    });
    assert!(!unlimited.exhausted(u32::MAX, Duration::from_secs(u64::MAX / 4)));
}

#[test]
fn invalid_settings_are_named() {
    let bad = RetryConfig {
        initial_ms: 0,
        max_ms: 0,
        multiplier: 0.5,
        ..RetryConfig::default()
    };
    let paths: Vec<String> = bad.validate().into_iter().map(|p| p.path).collect();
    assert_eq!(paths, vec!["initial_ms", "multiplier"]);
    let outbox = OutboxConfig {
        url: "mysql://x".into(),
        table_prefix: Some("bad-prefix".into()),
        max_connections: 0,
        concurrency: 0,
    };
    let paths: Vec<String> = outbox.validate().into_iter().map(|p| p.path).collect();
    assert_eq!(
        paths,
        vec!["url", "table_prefix", "max_connections", "concurrency"]
    );
    assert_eq!(OutboxConfig::default().prefix("my-pharmacy"), "my_pharmacy");
    assert!(RetryConfig::default().validate().is_empty());
}
