//! The outbox table: enqueue with a unique dedupe key, two-phase acceptance
//! (`pending-store` → `ready`), leased claims of due messages, and their outcomes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AnyPool, Row};
use tokio::sync::Notify;

use super::OutboxConfig;
use super::db::{self, Backend, now_ms};
use super::message::{Enqueued, Message, MessageState, NewMessage, StateCounts, from_row};
use crate::AdapterError;

const COLUMNS: &str = "seq, dedupe_key, message_id, destination, kind, payload, context, \
                       state, attempts, created_at, last_error, result";

/// One adapter's durable outbox. Cheap to share behind an `Arc`.
pub struct Outbox {
    adapter: String,
    pub(super) pool: AnyPool,
    backend: Backend,
    table: String,
    /// This process's lease owner id.
    owner: String,
    /// Serializes writes on SQLite (one writer at a time; avoids `SQLITE_BUSY` storms).
    write_lock: tokio::sync::Mutex<()>,
    wake: Arc<Notify>,
    pub(super) prefix: String,
}

impl Outbox {
    /// Opens (creating when missing) the outbox of `adapter`.
    ///
    /// Errors: [`AdapterError::Config`] when the database cannot be opened.
    pub async fn open(
        adapter: &str,
        config: &OutboxConfig,
        data_dir: &Path,
    ) -> Result<Arc<Self>, AdapterError> {
        let prefix = config.prefix(adapter);
        if !super::config::is_valid_prefix(&prefix) {
            return Err(AdapterError::Config {
                adapter: adapter.to_owned(),
                detail: "outbox: invalid table prefix".into(),
            });
        }
        let (pool, backend) = db::open(adapter, config, &prefix, data_dir).await?;
        Ok(Arc::new(Self {
            adapter: adapter.to_owned(),
            pool,
            backend,
            table: format!("{prefix}_messages"),
            owner: uuid::Uuid::new_v4().to_string(),
            write_lock: tokio::sync::Mutex::new(()),
            wake: Arc::new(Notify::new()),
            prefix,
        }))
    }

    /// The adapter this outbox belongs to.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    pub(super) fn err(&self, e: &sqlx::Error) -> AdapterError {
        AdapterError::Unavailable {
            adapter: self.adapter.clone(),
            detail: format!("outbox database: {e}"),
        }
    }

    pub(super) async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Wakes the dispatcher (a message became due).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(super) fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Stores `message` durably (committed, fsynced on SQLite) unless one with its dedupe
    /// key exists. A new `ready` message wakes the dispatcher.
    ///
    /// Errors: [`AdapterError::Unavailable`] when the database fails.
    pub async fn enqueue(&self, message: NewMessage) -> Result<Enqueued, AdapterError> {
        let now = now_ms();
        let sql = format!(
            "INSERT INTO {} (dedupe_key, message_id, destination, kind, payload, context, \
             state, attempts, next_attempt_at, lease_until, lease_owner, created_at, \
             updated_at, last_error, result) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, 0, '', $8, $8, '', '') \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING {COLUMNS}",
            self.table
        );
        let inserted = {
            let _guard = self.write_guard().await;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&message.dedupe_key)
                .bind(&message.message_id)
                .bind(&message.destination)
                .bind(&message.kind)
                .bind(&message.payload)
                .bind(&message.context)
                .bind(message.state.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err(&e))?
        };
        match inserted {
            Some(row) => {
                let m = from_row(&row).map_err(|e| self.err(&e))?;
                metrics::counter!(
                    "fhirgate_outbox_enqueued_total",
                    "adapter" => self.adapter.clone(),
                    "kind" => m.kind.clone(),
                )
                .increment(1);
                if m.state == MessageState::Ready {
                    self.wake();
                }
                Ok(Enqueued::New(m))
            }
            None => match self.get(&message.dedupe_key).await? {
                Some(m) => Ok(Enqueued::Existing(m)),
                None => Err(AdapterError::Unavailable {
                    adapter: self.adapter.clone(),
                    detail: "outbox: message vanished during enqueue".into(),
                }),
            },
        }
    }

    /// The message with `dedupe_key`, if any.
    pub async fn get(&self, dedupe_key: &str) -> Result<Option<Message>, AdapterError> {
        self.fetch_one_where("dedupe_key = $1", dedupe_key).await
    }

    /// The message with protocol message id `message_id`, if any.
    pub async fn find_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<Message>, AdapterError> {
        self.fetch_one_where("message_id = $1", message_id).await
    }

    async fn fetch_one_where(
        &self,
        cond: &str,
        value: &str,
    ) -> Result<Option<Message>, AdapterError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE {cond} ORDER BY seq LIMIT 1",
            self.table
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        row.map(|r| from_row(&r))
            .transpose()
            .map_err(|e| self.err(&e))
    }

    /// Every `pending-store` message, oldest first (for the recovery pass).
    pub async fn pending_store(&self) -> Result<Vec<Message>, AdapterError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE state = 'pending-store' ORDER BY seq",
            self.table
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        rows.iter()
            .map(from_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(&e))
    }

    /// Moves a `pending-store` message to `ready` and wakes the dispatcher.
    pub async fn mark_ready(&self, seq: i64) -> Result<(), AdapterError> {
        self.update(
            "state = 'ready', next_attempt_at = $2",
            "seq = $1 AND state = 'pending-store'",
            seq,
            &[Bind::I(now_ms())],
        )
        .await?;
        self.wake();
        Ok(())
    }

    /// Deletes a `pending-store` message whose adapter writes failed before the client got
    /// an answer (the client was told the request failed, so it must not be sent).
    pub async fn abandon(&self, seq: i64) -> Result<(), AdapterError> {
        let sql = format!(
            "DELETE FROM {} WHERE seq = $1 AND state = 'pending-store'",
            self.table
        );
        let _guard = self.write_guard().await;
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(seq)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| self.err(&e))
    }

    /// Claims up to `limit` due `ready` messages for `lease` (no other claim takes them
    /// until it expires) and counts the attempt. On PostgreSQL concurrent claimers skip
    /// each other's rows (`FOR UPDATE SKIP LOCKED`); on SQLite the single writer makes the
    /// claim atomic.
    pub async fn claim(&self, limit: u32, lease: Duration) -> Result<Vec<Message>, AdapterError> {
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE {t} SET lease_until = $1, lease_owner = $2, attempts = attempts + 1, \
             updated_at = $3 WHERE seq IN (SELECT seq FROM {t} WHERE state = 'ready' \
             AND next_attempt_at <= $3 AND lease_until <= $3 ORDER BY next_attempt_at, seq \
             LIMIT $4{lock}) RETURNING {COLUMNS}",
            t = self.table
        );
        let rows = {
            let _guard = self.write_guard().await;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(until)
                .bind(&self.owner)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(&e))?
        };
        let mut out: Vec<Message> = rows
            .iter()
            .map(from_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(&e))?;
        out.sort_by_key(|m| m.seq);
        Ok(out)
    }

    /// Records a delivery of `m` (claimed, or handed over directly while still
    /// `pending-store`): state `delivered`, the receiver's answer in `result`.
    pub async fn delivered(&self, m: &Message, result: &str) -> Result<(), AdapterError> {
        self.update(
            "state = 'delivered', lease_until = 0, result = $2, last_error = '', attempts = $3",
            "seq = $1 AND state IN ('ready', 'pending-store')",
            m.seq,
            &[Bind::S(result), Bind::I(i64::from(m.attempts))],
        )
        .await
    }

    /// Gives up on `m`: state `failed`, `reason` in `last_error`, `result` the receiver's
    /// answer if it gave one.
    pub async fn failed(
        &self,
        m: &Message,
        reason: &str,
        result: &str,
    ) -> Result<(), AdapterError> {
        self.update(
            "state = 'failed', lease_until = 0, last_error = $2, result = $3, attempts = $4",
            "seq = $1 AND state IN ('ready', 'pending-store')",
            m.seq,
            &[
                Bind::S(reason),
                Bind::S(result),
                Bind::I(i64::from(m.attempts)),
            ],
        )
        .await
    }

    /// Schedules another attempt of `m` `delay` from now after a transient failure: state
    /// `ready` (a message handed over directly becomes an ordinary queued one), only while
    /// this process still holds a claimed message's lease.
    pub async fn retry_after(
        &self,
        m: &Message,
        delay: Duration,
        reason: &str,
    ) -> Result<(), AdapterError> {
        let at = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        self.update(
            "state = 'ready', lease_until = 0, next_attempt_at = $2, last_error = $3, \
             attempts = $5",
            "seq = $1 AND (state = 'pending-store' OR (state = 'ready' AND lease_owner = $4))",
            m.seq,
            &[
                Bind::I(at),
                Bind::S(reason),
                Bind::S(&self.owner),
                Bind::I(i64::from(m.attempts)),
            ],
        )
        .await
    }

    /// When the next `ready` message becomes claimable (its retry time or the end of its
    /// lease), milliseconds since the epoch; `None` when there is none.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, AdapterError> {
        let sql = format!(
            "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until \
             ELSE next_attempt_at END) AS due FROM {} WHERE state = 'ready'",
            self.table
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        row.try_get::<Option<i64>, _>("due")
            .map_err(|e| self.err(&e))
    }

    /// How many messages are in each state.
    pub async fn counts(&self) -> Result<StateCounts, AdapterError> {
        let sql = format!(
            "SELECT state, COUNT(*) AS n FROM {} GROUP BY state",
            self.table
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        let mut counts = StateCounts::default();
        for row in rows {
            let state: String = row.try_get("state").map_err(|e| self.err(&e))?;
            let n: i64 = row.try_get("n").map_err(|e| self.err(&e))?;
            let n = u64::try_from(n).unwrap_or(0);
            match MessageState::parse(&state) {
                MessageState::PendingStore => counts.pending_store = n,
                MessageState::Ready => counts.ready = n,
                MessageState::Delivered => counts.delivered = n,
                MessageState::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }

    /// `UPDATE … SET {set}, updated_at = now WHERE {cond}` with `$1` = `seq` and the
    /// following placeholders bound from `extra` in order.
    async fn update(
        &self,
        set: &str,
        cond: &str,
        seq: i64,
        extra: &[Bind<'_>],
    ) -> Result<(), AdapterError> {
        let n = extra.len() + 2;
        let sql = format!(
            "UPDATE {} SET {set}, updated_at = ${n} WHERE {cond}",
            self.table
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(seq);
        for b in extra {
            query = match b {
                Bind::I(i) => query.bind(*i),
                Bind::S(s) => query.bind(s.to_string()),
            };
        }
        let _guard = self.write_guard().await;
        query
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| self.err(&e))
    }
}

enum Bind<'a> {
    I(i64),
    S(&'a str),
}
