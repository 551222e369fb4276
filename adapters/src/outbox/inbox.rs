//! The inbox: message ids received from each source with the answer given, so a repeated
//! message (a sender retrying after a lost answer) gets the same answer and causes no
//! second write. Lives in the outbox's database (`<prefix>_inbox`).

use std::sync::Arc;

use sqlx::Row;

use super::Outbox;
use super::db::now_ms;
use crate::AdapterError;

/// Received message ids and their answers, per source.
#[derive(Clone)]
pub struct Inbox {
    outbox: Arc<Outbox>,
    table: String,
}

impl Inbox {
    /// The inbox sharing `outbox`'s database.
    pub fn of(outbox: &Arc<Outbox>) -> Self {
        Self {
            outbox: outbox.clone(),
            table: format!("{}_inbox", outbox.prefix),
        }
    }

    /// The answer given to `message_id` from `source` (status code and body), if it was
    /// received before.
    ///
    /// Errors: [`AdapterError::Unavailable`] when the database fails.
    pub async fn answer(
        &self,
        source: &str,
        message_id: &str,
    ) -> Result<Option<(u16, String)>, AdapterError> {
        let sql = format!(
            "SELECT status, answer FROM {} WHERE source = $1 AND message_id = $2",
            self.table
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .bind(message_id)
            .fetch_optional(&self.outbox.pool)
            .await
            .map_err(|e| self.outbox.err(&e))?;
        let Some(row) = row else { return Ok(None) };
        let status: i64 = row.try_get("status").map_err(|e| self.outbox.err(&e))?;
        let answer: String = row.try_get("answer").map_err(|e| self.outbox.err(&e))?;
        Ok(Some((u16::try_from(status).unwrap_or(200), answer)))
    }

    /// Records the answer to `message_id` from `source` (durably, before it is sent).
    /// The first record wins; a concurrent duplicate keeps it. Returns the recorded answer.
    ///
    /// Errors: [`AdapterError::Unavailable`] when the database fails.
    pub async fn record(
        &self,
        source: &str,
        message_id: &str,
        status: u16,
        answer: &str,
    ) -> Result<(u16, String), AdapterError> {
        let sql = format!(
            "INSERT INTO {} (source, message_id, answer, status, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, message_id) DO NOTHING",
            self.table
        );
        {
            let _guard = self.outbox.write_guard().await;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(source)
                .bind(message_id)
                .bind(answer)
                .bind(i64::from(status))
                .bind(now_ms())
                .execute(&self.outbox.pool)
                .await
                .map_err(|e| self.outbox.err(&e))?;
        }
        Ok(self
            .answer(source, message_id)
            .await?
            .unwrap_or((status, answer.to_owned())))
    }
}
