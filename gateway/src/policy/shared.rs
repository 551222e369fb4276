//! `shared_state:` — optional Redis and PostgreSQL that make replicas share rate-limit
//! budgets, cache invalidations and the audit trail.

use std::sync::{Arc, RwLock};
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

/// A shared Redis handle: one multiplexed connection; after a failure one caller at a time
/// reconnects (at most once a second) while the others fall back at once, so an outage
/// costs no request more than one fast failure.
#[derive(Clone)]
pub struct RedisShared {
    client: redis::Client,
    /// Key and channel prefix.
    pub prefix: String,
    /// Per-command timeout.
    pub timeout: Duration,
    conn: Arc<RwLock<Option<redis::aio::MultiplexedConnection>>>,
    /// When the last reconnect failed; locked by the one caller reconnecting.
    reconnect: Arc<Mutex<Option<Instant>>>,
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
            conn: Arc::new(RwLock::new(None)),
            reconnect: Arc::new(Mutex::new(None)),
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

    /// A connection, or `None` while Redis is unreachable or another caller is reconnecting.
    pub async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        if let Some(c) = self.conn.read().ok().and_then(|g| g.clone()) {
            return Some(c);
        }
        let Ok(mut last_failure) = self.reconnect.try_lock() else {
            return None;
        };
        if let Some(c) = self.conn.read().ok().and_then(|g| g.clone()) {
            return Some(c);
        }
        if last_failure.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return None;
        }
        let attempt = tokio::time::timeout(
            self.timeout * 4,
            self.client.get_multiplexed_async_connection(),
        )
        .await;
        match attempt {
            Ok(Ok(c)) => {
                if let Ok(mut g) = self.conn.write() {
                    *g = Some(c.clone());
                }
                *last_failure = None;
                tracing::info!("redis reachable; shared state in use");
                Some(c)
            }
            _ => {
                *last_failure = Some(Instant::now());
                None
            }
        }
    }

    /// Drops the connection after a command that timed out, so the next caller reconnects
    /// at once. A slow moment (a loaded host) then costs a handful of local decisions
    /// instead of a second of them; if Redis hangs, that reconnect times out and
    /// [`Self::connection`] waits a second before trying again.
    pub async fn timed_out(&self) {
        if let Ok(mut g) = self.conn.write() {
            *g = None;
        }
    }

    /// Drops the connection after a failed command; the next reconnect waits a second.
    pub async fn reset(&self) {
        if let Ok(mut g) = self.conn.write() {
            *g = None;
        }
        if let Ok(mut last_failure) = self.reconnect.try_lock() {
            *last_failure = Some(Instant::now());
        }
    }
}
