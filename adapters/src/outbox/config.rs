//! Settings of an outbox (`outbox:`) and of its delivery retries (`retry:`).

use serde::Deserialize;

use crate::config::ConfigProblem;

/// Where an adapter's outbox lives. `/metrics` counts its messages:
/// `fhirgate_outbox_enqueued_total{adapter,kind}` and
/// `fhirgate_outbox_deliveries_total{adapter,kind,outcome}` with `outcome` one of
/// `delivered`, `refused` (the receiver's permanent error), `retry` (a transient failure,
/// tried again after a backoff) and `gave_up` (retries exhausted).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// Database URL: `sqlite://outbox.db` (relative paths are under `server.data_dir`;
    /// `synchronous=FULL`, so an accepted message is on disk) or `postgres://user@host/db`
    /// (several replicas may share it). Default `sqlite://outbox.db`.
    #[serde(default = "default_url")]
    pub url: String,
    /// Prefix of the outbox's table names (`<prefix>_messages`, `<prefix>_inbox`); letters,
    /// digits and `_`. Adapters sharing one database need different prefixes. Default:
    /// the adapter's name with `-` as `_`.
    #[serde(default)]
    pub table_prefix: Option<String>,
    /// Maximum pooled database connections. Default 4.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Messages delivered at the same time at most. Default 16.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
}

fn default_url() -> String {
    "sqlite://outbox.db".into()
}

fn default_max_connections() -> u32 {
    4
}

fn default_concurrency() -> u32 {
    16
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            url: default_url(),
            table_prefix: None,
            max_connections: default_max_connections(),
            concurrency: default_concurrency(),
        }
    }
}

impl OutboxConfig {
    /// Pure checks; key paths relative to the `outbox` key.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("sqlite:") || self.is_postgres()) {
            problems.push(ConfigProblem::new(
                "url",
                "must start with sqlite: or postgres://",
            ));
        }
        if let Some(p) = &self.table_prefix
            && !is_valid_prefix(p)
        {
            problems.push(ConfigProblem::new(
                "table_prefix",
                "must be 1-40 characters of letters, digits and _",
            ));
        }
        if self.max_connections == 0 {
            problems.push(ConfigProblem::new("max_connections", "must be at least 1"));
        }
        if self.concurrency == 0 {
            problems.push(ConfigProblem::new("concurrency", "must be at least 1"));
        }
        problems
    }

    /// Whether the URL names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }

    /// The table prefix: the configured one, else `adapter` with every character outside
    /// `[A-Za-z0-9_]` replaced by `_`.
    pub fn prefix(&self, adapter: &str) -> String {
        self.table_prefix.clone().unwrap_or_else(|| {
            adapter
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(40)
                .collect()
        })
    }
}

/// A table prefix safe to put into SQL: `[A-Za-z0-9_]{1,40}`.
pub(crate) fn is_valid_prefix(p: &str) -> bool {
    (1..=40).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// How failed deliveries are retried: exponential backoff with full jitter (the delay before
/// attempt `n + 1` is uniform in `[0, min(max_ms, initial_ms · multiplier^(n-1))]`, or exactly
/// that cap without jitter), until `max_attempts` or `max_age_seconds` is reached.
/// Only transient failures are retried (the adapter decides which).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Cap of the first retry's delay, in milliseconds. Default 500.
    #[serde(default = "default_initial_ms")]
    pub initial_ms: u64,
    /// Largest delay between two attempts, in milliseconds. Default 60000 (1 minute).
    #[serde(default = "default_max_ms")]
    pub max_ms: u64,
    /// Factor the delay cap grows by per attempt (at least 1). Default 2.
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    /// Full jitter: draw each delay uniformly below its cap, so retries of many messages
    /// after an outage spread out. Default `true`.
    #[serde(default = "default_true")]
    pub jitter: bool,
    /// Give up after this many attempts; `0` means no limit. Default 0.
    #[serde(default)]
    pub max_attempts: u32,
    /// Give up on a message this many seconds after it was accepted; `0` means no limit.
    /// Default 259200 (72 hours).
    #[serde(default = "default_max_age")]
    pub max_age_seconds: u64,
}

fn default_initial_ms() -> u64 {
    500
}

fn default_max_ms() -> u64 {
    60_000
}

fn default_multiplier() -> f64 {
    2.0
}

fn default_true() -> bool {
    true
}

fn default_max_age() -> u64 {
    72 * 3600
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_ms: default_initial_ms(),
            max_ms: default_max_ms(),
            multiplier: default_multiplier(),
            jitter: true,
            max_attempts: 0,
            max_age_seconds: default_max_age(),
        }
    }
}

impl RetryConfig {
    /// Pure checks; key paths relative to the `retry` key.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.initial_ms == 0 {
            problems.push(ConfigProblem::new("initial_ms", "must be at least 1"));
        }
        if self.max_ms < self.initial_ms {
            problems.push(ConfigProblem::new("max_ms", "must be at least initial_ms"));
        }
        if !(self.multiplier.is_finite() && (1.0..=100.0).contains(&self.multiplier)) {
            problems.push(ConfigProblem::new(
                "multiplier",
                "must be between 1 and 100",
            ));
        }
        problems
    }
}
