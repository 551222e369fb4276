//! The outbox database: a sqlx `Any` pool on SQLite (WAL, `synchronous=FULL`: a commit is
//! on disk before it returns) or PostgreSQL, and the tables.

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::OutboxConfig;
use crate::AdapterError;

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// SQLite: one writer at a time; writes are serialized in-process.
    Sqlite,
    /// PostgreSQL: rows are claimed with `FOR UPDATE SKIP LOCKED`.
    Postgres,
}

/// The sqlx URL: relative SQLite paths live under `data_dir`.
fn resolve_url(url: &str, data_dir: &Path) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return url.to_owned();
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if rest.is_empty() || rest == ":memory:" {
        return "sqlite::memory:".into();
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = Path::new(path);
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        data_dir.join(path)
    };
    let query = if query.is_empty() { "mode=rwc" } else { query };
    format!("sqlite://{}?{query}", full.display())
}

/// Opens the pool and creates the tables `<prefix>_messages` and `<prefix>_inbox`.
///
/// Errors: [`AdapterError::Config`] naming `adapter` when the database cannot be opened.
pub(crate) async fn open(
    adapter: &str,
    config: &OutboxConfig,
    prefix: &str,
    data_dir: &Path,
) -> Result<(AnyPool, Backend), AdapterError> {
    sqlx::any::install_default_drivers();
    let fail = |detail: String| AdapterError::Config {
        adapter: adapter.to_owned(),
        detail: format!("outbox: {detail}"),
    };
    let backend = if config.is_postgres() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let url = resolve_url(&config.url, data_dir);
    let max = if url == "sqlite::memory:" {
        1
    } else {
        config.max_connections.max(1)
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL keeps readers off the writer's path; FULL fsyncs every commit, so a
                    // message acknowledged to the client survives a crash or power loss.
                    conn.execute("PRAGMA journal_mode=WAL").await?;
                    conn.execute("PRAGMA synchronous=FULL").await?;
                    conn.execute("PRAGMA busy_timeout=15000").await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| fail(format!("cannot open database: {e}")))?;
    let serial = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    let ddl = [
        format!(
            "CREATE TABLE IF NOT EXISTS {prefix}_messages (seq {serial}, \
             dedupe_key TEXT NOT NULL UNIQUE, message_id TEXT NOT NULL, \
             destination TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, \
             context TEXT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL, \
             next_attempt_at BIGINT NOT NULL, lease_until BIGINT NOT NULL, \
             lease_owner TEXT NOT NULL, created_at BIGINT NOT NULL, \
             updated_at BIGINT NOT NULL, last_error TEXT NOT NULL, result TEXT NOT NULL)"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS {prefix}_messages_due ON {prefix}_messages \
             (state, next_attempt_at)"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS {prefix}_messages_mid ON {prefix}_messages (message_id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {prefix}_inbox (source TEXT NOT NULL, \
             message_id TEXT NOT NULL, answer TEXT NOT NULL, status BIGINT NOT NULL, \
             received_at BIGINT NOT NULL, PRIMARY KEY (source, message_id))"
        ),
    ];
    for statement in ddl {
        pool.execute(sqlx::AssertSqlSafe(statement))
            .await
            .map_err(|e| fail(format!("cannot create tables: {e}")))?;
    }
    Ok((pool, backend))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
