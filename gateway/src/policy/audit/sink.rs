//! The configured sink: JSON lines, SQLite or PostgreSQL, behind one small interface.

use std::path::{Path, PathBuf};

use super::chain::{Checkpoint, Stored};
use super::config::SinkKind;
use super::event::{self, Index};
use super::jsonl::JsonlSink;
use super::search::Filter;
use super::sql::SqlSink;
use crate::config::Config;
use crate::policy::PolicyError;

/// An open audit sink.
pub enum Sink {
    /// `audit.sink: jsonl`.
    Jsonl(JsonlSink),
    /// `audit.sink: sqlite | postgres`.
    Sql(SqlSink),
}

fn under(data_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        data_dir.join(p)
    }
}

/// The database URL for SQL sinks: `audit.url`, else `shared_state.postgres.url`, else
/// `sqlite://audit.db`; relative SQLite files live in the data dir.
fn sql_url(config: &Config, data_dir: &Path) -> String {
    let audit = &config.audit;
    let url = match (audit.sink, &audit.url, &config.shared_state.postgres) {
        (_, Some(u), _) => u.clone(),
        (SinkKind::Postgres, None, Some(p)) => p.url.clone(),
        _ => "sqlite://audit.db".into(),
    };
    match url.strip_prefix("sqlite://") {
        Some(file) if !file.starts_with('/') => {
            let (file, query) = file.split_once('?').unwrap_or((file, ""));
            let query = if query.is_empty() { "mode=rwc" } else { query };
            format!("sqlite://{}?{query}", data_dir.join(file).display())
        }
        _ => url,
    }
}

impl Sink {
    /// Opens the sink for writing; `key` brings a lagging JSON-lines checkpoint up to date.
    pub async fn open(config: &Config, data_dir: &Path, key: &[u8]) -> Result<Self, PolicyError> {
        let audit = &config.audit;
        Ok(match audit.sink {
            SinkKind::Jsonl => Self::Jsonl(JsonlSink::open(
                &under(data_dir, &audit.path),
                &under(data_dir, &audit.checkpoint),
                audit.fsync,
                key,
            )?),
            SinkKind::Sqlite | SinkKind::Postgres => {
                Self::Sql(SqlSink::open(&sql_url(config, data_dir), &audit.table).await?)
            }
        })
    }

    /// Opens the sink without changing anything (for `audit verify`).
    pub async fn open_for_reading(config: &Config, data_dir: &Path) -> Result<Self, PolicyError> {
        let audit = &config.audit;
        Ok(match audit.sink {
            SinkKind::Jsonl => Self::Jsonl(JsonlSink::reader(
                &under(data_dir, &audit.path),
                &under(data_dir, &audit.checkpoint),
            )),
            SinkKind::Sqlite | SinkKind::Postgres => {
                Self::Sql(SqlSink::open(&sql_url(config, data_dir), &audit.table).await?)
            }
        })
    }

    /// Appends one batch after the chain head.
    pub async fn append(
        &mut self,
        batch: &[(Vec<u8>, Index)],
        key: &[u8],
    ) -> Result<(), PolicyError> {
        match self {
            Self::Jsonl(s) => s.append(batch.iter().map(|(r, _)| r.as_slice()), key),
            Self::Sql(s) => s.append(batch, key).await,
        }
    }

    /// [`Sink::append`] for the writer task, holding the sink's lock; `durable` is called
    /// with the outcome as soon as the records are durable. The JSON-lines sink's blocking
    /// file I/O (write and fsync — milliseconds on many disks) runs on tokio's blocking
    /// pool, so the runtime's workers keep serving requests (and the next batch grows)
    /// meanwhile. Its checkpoint is replaced right after `durable` (still under the lock)
    /// when `idle()` says no other request is waiting, so a trail at rest verifies once the
    /// last batch's checkpoint is written, and otherwise left to
    /// [`Sink::checkpoint_locked`]; returns whether it was replaced. SQL sinks append and
    /// checkpoint in one transaction.
    pub async fn append_locked(
        mut sink: tokio::sync::OwnedMutexGuard<Self>,
        batch: Vec<(Vec<u8>, Index)>,
        key: std::sync::Arc<Vec<u8>>,
        durable: impl FnOnce(bool) + Send + 'static,
        idle: impl FnOnce() -> bool + Send + 'static,
    ) -> Result<bool, PolicyError> {
        if matches!(&*sink, Self::Sql(_)) {
            let result = sink.append(&batch, &key).await;
            durable(result.is_ok());
            return result.map(|()| true);
        }
        tokio::task::spawn_blocking(move || {
            let Self::Jsonl(s) = &mut *sink else {
                durable(false);
                return Ok(false);
            };
            let logged = s.append_log(batch.iter().map(|(r, _)| r.as_slice()), &key);
            // The answers go first: the records are durable, and the checkpoint (a file
            // replaced by rename, ~0.3 ms on the benchmark's disk) is no part of them.
            durable(logged.is_ok());
            let checkpointed = logged.is_ok() && idle() && {
                if let Err(e) = s.checkpoint(&key) {
                    tracing::error!(error = %e, "audit checkpoint not updated");
                }
                true
            };
            logged.map(|()| checkpointed)
        })
        .await
        .map_err(|e| PolicyError::sink("jsonl", e))?
    }

    /// Replaces the JSON-lines checkpoint with the current head (on the blocking pool);
    /// SQL sinks keep theirs in step already.
    pub async fn checkpoint_locked(
        sink: tokio::sync::OwnedMutexGuard<Self>,
        key: std::sync::Arc<Vec<u8>>,
    ) -> Result<(), PolicyError> {
        if matches!(&*sink, Self::Sql(_)) {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || match &*sink {
            Self::Jsonl(s) => s.checkpoint(&key),
            Self::Sql(_) => Ok(()),
        })
        .await
        .map_err(|e| PolicyError::sink("jsonl", e))?
    }

    /// Every stored record, in stored order.
    pub async fn records(&self) -> Result<Vec<Stored>, PolicyError> {
        match self {
            Self::Jsonl(s) => s.read_records(),
            Self::Sql(s) => s.read_records().await,
        }
    }

    /// The stored checkpoint.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, PolicyError> {
        match self {
            Self::Jsonl(s) => s.read_checkpoint(),
            Self::Sql(s) => s.read_checkpoint().await,
        }
    }

    /// Records with their index, newest first; SQL sinks narrow them by `filters` in the
    /// database, JSON lines returns all (the search checks every row against the filters).
    pub async fn search_rows(
        &self,
        filters: &[Filter],
    ) -> Result<Vec<(Index, String)>, PolicyError> {
        match self {
            Self::Jsonl(s) => {
                let mut rows = Vec::new();
                for r in s.read_records()?.into_iter().rev() {
                    let text = String::from_utf8_lossy(&r.record).into_owned();
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    rows.push((event::index_of(&value), text));
                }
                Ok(rows)
            }
            Self::Sql(s) => Ok(s
                .search_rows(filters)
                .await?
                .into_iter()
                .map(|r| (r.index, r.event))
                .collect()),
        }
    }
}
