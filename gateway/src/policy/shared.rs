//! `shared_state:` — optional Redis and PostgreSQL that make replicas share rate-limit
//! budgets, cache invalidations and the audit trail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::PolicyError;

/// The `shared_state` section. Absent: every replica keeps its own state.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedStateConfig {
    /// Redis for global rate limits and cache invalidation across replicas.
    pub redis: Option<RedisConfig>,
    /// PostgreSQL for the shared audit trail (`audit.sink: postgres` without its own `url`).
    pub postgres: Option<PostgresConfig>,
}

/// `shared_state.redis`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://HOST:PORT[/DB]`; credentials through `${ENV}`.
    pub url: String,
    /// Prefix of every key and channel fhirgate uses (replicas of one deployment share it).
    /// Default `fhirgate`.
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
    /// Milliseconds one Redis command may take before the request falls back to local
    /// state. Default 250.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// `shared_state.postgres`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://USER@HOST:PORT/DB`; the password through `${ENV}`.
    pub url: String,
}

fn default_prefix() -> String {
    "fhirgate".into()
}

fn default_timeout_ms() -> u64 {
    250
}

impl SharedStateConfig {
    /// Pure checks; `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if let Some(r) = &self.redis {
            if !(r.url.starts_with("redis://") || r.url.starts_with("rediss://")) {
                problems.push((
                    "shared_state.redis.url".into(),
                    "must be a redis:// or rediss:// URL".into(),
                ));
            }
            if r.key_prefix.is_empty() {
                problems.push((
                    "shared_state.redis.key_prefix".into(),
                    "must not be empty".into(),
                ));
            }
        }
        if let Some(p) = &self.postgres
            && !(p.url.starts_with("postgres://") || p.url.starts_with("postgresql://"))
        {
            problems.push((
                "shared_state.postgres.url".into(),
                "must be a postgres:// URL".into(),
            ));
        }
        problems
    }
}

/// A process-unique id for this gateway instance (AuditEvent.source, pub/sub origin).
pub fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "fhirgate".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// A shared Redis handle: one multiplexed connection, re-established lazily (at most once
/// a second) after a failure, so an outage costs one fast failure per request, not a hang.
#[derive(Clone)]
pub struct RedisShared {
    client: redis::Client,
    /// Key and channel prefix.
    pub prefix: String,
    /// Per-command timeout.
    pub timeout: Duration,
    conn: Arc<Mutex<(Option<redis::aio::MultiplexedConnection>, Option<Instant>)>>,
}

impl RedisShared {
    /// Parses the URL and tries a first connection (failure is logged, not fatal).
    pub async fn connect(config: &RedisConfig) -> Result<Self, PolicyError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| PolicyError::Redis(e.to_string()))?;
        let shared = Self {
            client,
            prefix: config.key_prefix.clone(),
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
            conn: Arc::new(Mutex::new((None, None))),
        };
        if shared.connection().await.is_none() {
            tracing::warn!("redis unreachable at startup; using local state until it answers");
        }
        Ok(shared)
    }

    /// The redis client (for pub/sub connections).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A connection, or `None` while Redis is unreachable (retried at most once a second).
    pub async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = &guard.0 {
            return Some(c.clone());
        }
        if guard
            .1
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return None;
        }
        let attempt = tokio::time::timeout(
            self.timeout * 4,
            self.client.get_multiplexed_async_connection(),
        )
        .await;
        match attempt {
            Ok(Ok(c)) => {
                *guard = (Some(c.clone()), None);
                Some(c)
            }
            _ => {
                *guard = (None, Some(Instant::now()));
                None
            }
        }
    }

    /// Drops the connection after a failed command, so the next call reconnects.
    pub async fn reset(&self) {
        let mut guard = self.conn.lock().await;
        *guard = (None, Some(Instant::now()));
    }
}
