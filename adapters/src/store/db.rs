//! The database behind the store: a sqlx `Any` pool on SQLite (WAL, `synchronous=FULL`) or
//! PostgreSQL, the DDL, and the mapping of database failures to [`AdapterError`].

use std::path::Path;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::config::{StoreConfig, is_valid_schema};
use super::schema;
use crate::{AdapterError, BuildContext};

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// SQLite (single writer; writers are serialized in-process).
    Sqlite,
    /// PostgreSQL (rows locked with `FOR UPDATE` while a version is written).
    Postgres,
}

/// The pool and what the store needs to know about it.
pub(crate) struct Db {
    /// Connection pool.
    pub pool: AnyPool,
    /// Dialect.
    pub backend: Backend,
    /// Serializes writing transactions on SQLite, where concurrent writers would fail with
    /// `SQLITE_BUSY`; WAL keeps readers going meanwhile. Unused on PostgreSQL.
    pub write_lock: tokio::sync::Mutex<()>,
}

/// Database failures, turned into [`AdapterError::Unavailable`] (503) by the adapter.
pub(crate) type DbResult<T> = Result<T, sqlx::Error>;

/// `AdapterError::Unavailable` for a database failure of adapter `name`.
pub(crate) fn unavailable(name: &str, e: &sqlx::Error) -> AdapterError {
    AdapterError::Unavailable {
        adapter: name.to_owned(),
        detail: format!("database: {e}"),
    }
}

/// The sqlx URL for `config.url`: SQLite paths that are relative live under the data dir.
fn resolve_url(config: &StoreConfig, data_dir: &Path) -> (String, bool) {
    if config.is_postgres() {
        return (config.url.clone(), false);
    }
    let rest = config
        .url
        .strip_prefix("sqlite://")
        .or_else(|| config.url.strip_prefix("sqlite:"))
        .unwrap_or(&config.url);
    if rest == ":memory:" || rest.is_empty() {
        return ("sqlite::memory:".into(), true);
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = Path::new(path);
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        data_dir.join(path)
    };
    let query = if query.is_empty() { "mode=rwc" } else { query };
    (format!("sqlite://{}?{query}", full.display()), false)
}

/// Opens the pool, applies the per-connection settings and creates the tables.
pub(crate) async fn open(
    name: &str,
    config: &StoreConfig,
    ctx: &BuildContext,
) -> Result<Db, AdapterError> {
    sqlx::any::install_default_drivers();
    let fail = |detail: String| AdapterError::Config {
        adapter: name.to_owned(),
        detail,
    };
    let backend = if config.is_postgres() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let (url, memory) = resolve_url(config, &ctx.data_dir);
    let schema = match (&config.schema, backend) {
        (Some(s), Backend::Postgres) if is_valid_schema(s) => Some(s.clone()),
        (Some(_), Backend::Postgres) => return Err(fail("invalid schema name".into())),
        _ => None,
    };
    // One direct connection first: it fails fast (the pool would retry until its
    // acquire timeout) and creates the schema the pool's connections will use.
    let mut conn = <AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .map_err(|e| fail(format!("cannot connect: {e}")))?;
    if let Some(s) = &schema {
        conn.execute(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{s}\""
        )))
        .await
        .map_err(|e| fail(format!("cannot create schema: {e}")))?;
    }
    let _ = sqlx::Connection::close(conn).await;
    let max = if memory {
        1
    } else {
        config.max_connections.max(1)
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(15))
        .after_connect(move |conn, _meta| {
            let schema = schema.clone();
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => {
                        // WAL: readers never block the writer; FULL: a commit is on disk
                        // before we answer, so nothing accepted is lost.
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA synchronous=FULL").await?;
                        conn.execute("PRAGMA busy_timeout=15000").await?;
                    }
                    Backend::Postgres => {
                        if let Some(s) = schema {
                            conn.execute(sqlx::AssertSqlSafe(format!(
                                "SET search_path TO \"{s}\""
                            )))
                            .await?;
                        }
                    }
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| fail(format!("cannot open database: {e}")))?;
    let ddl = match backend {
        Backend::Sqlite => schema::sqlite(),
        Backend::Postgres => schema::postgres(),
    };
    for statement in ddl {
        pool.execute(sqlx::AssertSqlSafe(statement))
            .await
            .map_err(|e| fail(format!("cannot create tables: {e}")))?;
    }
    Ok(Db {
        pool,
        backend,
        write_lock: tokio::sync::Mutex::new(()),
    })
}
