//! `rate_limits:` — tiers of GCRA limits (`per_second`, `burst`), by client.

use indexmap::IndexMap;
use serde::Deserialize;

/// One tier: a sustained rate and a burst (GCRA: emission interval `1/per_second`,
/// tolerance `burst` requests).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Sustained requests per second (may be fractional, e.g. 0.5).
    pub per_second: f64,
    /// Requests allowed at once on a fresh budget (at least 1). A batch or transaction
    /// Bundle counts as its entries, at most `burst` of them.
    pub burst: u32,
}

/// The `rate_limits` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    /// Limits on or off. Default true.
    pub enabled: bool,
    /// Tier of every validated client not listed in `clients`. Default 50/s, burst 100.
    pub default: Tier,
    /// Tier for requests without a validated token, keyed by peer IP (discovery, metadata,
    /// token endpoint, refused tokens). Default 50/s, burst 100.
    pub anonymous: Tier,
    /// Per-client tiers by OAuth2 client id (`client_id`, else `azp`, else `sub`).
    pub clients: IndexMap<String, Tier>,
    /// Seconds between sweeps of idle keys from the local store (`retain_recent`). Default 60.
    pub retain_recent_seconds: u64,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default: Tier {
                per_second: 50.0,
                burst: 100,
            },
            anonymous: Tier {
                per_second: 50.0,
                burst: 100,
            },
            clients: IndexMap::new(),
            retain_recent_seconds: 60,
        }
    }
}

impl RateLimitsConfig {
    /// The tier name and tier for a client (`None`: anonymous).
    pub fn tier(&self, client_id: Option<&str>) -> (&str, Tier) {
        match client_id {
            None => ("anonymous", self.anonymous),
            Some(c) => match self.clients.get_key_value(c) {
                Some((name, tier)) => (name.as_str(), *tier),
                None => ("default", self.default),
            },
        }
    }

    /// Pure checks; `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let tiers = [
            ("rate_limits.default".to_owned(), &self.default),
            ("rate_limits.anonymous".to_owned(), &self.anonymous),
        ]
        .into_iter()
        .chain(
            self.clients
                .iter()
                .map(|(k, t)| (format!("rate_limits.clients.{k}"), t)),
        );
        for (path, tier) in tiers {
            if !(tier.per_second > 0.0 && tier.per_second <= 1_000_000.0) {
                problems.push((
                    format!("{path}.per_second"),
                    "must be > 0 and <= 1000000".into(),
                ));
            }
            if tier.burst == 0 {
                problems.push((format!("{path}.burst"), "must be at least 1".into()));
            }
        }
        problems
    }
}
