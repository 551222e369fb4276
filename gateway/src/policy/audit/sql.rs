//! The SQLite and PostgreSQL audit sinks (sqlx `Any`): records in `<table>`, the signed
//! chain head in `<table>_head`. Appends run in one transaction that locks the head, so
//! replicas sharing a PostgreSQL database extend one chain.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
// Table names come from `audit.table`, validated as [a-z0-9_] identifiers by the config.
use sqlx::{AnyPool, AssertSqlSafe, Row};

use super::chain::{self, Checkpoint, Head, Stored};
use super::event::Index;
use super::search::Filter;
use crate::policy::PolicyError;

/// A table-backed sink.
pub struct SqlSink {
    pool: AnyPool,
    table: String,
    postgres: bool,
    name: &'static str,
}

/// One row as search reads it: index columns and the event text.
pub struct Row_ {
    /// Index columns.
    pub index: Index,
    /// The AuditEvent JSON.
    pub event: String,
}

impl SqlSink {
    /// Connects and creates the tables when missing. `table` is validated by the config.
    pub async fn open(url: &str, table: &str) -> Result<Self, PolicyError> {
        install_default_drivers();
        let postgres = url.starts_with("postgres");
        let name = if postgres { "postgres" } else { "sqlite" };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| PolicyError::sink(name, e))?;
        let sink = Self {
            pool,
            table: table.to_owned(),
            postgres,
            name,
        };
        let t = &sink.table;
        for ddl in [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (seq BIGINT PRIMARY KEY, recorded TEXT NOT NULL, action TEXT NOT NULL, patients TEXT NOT NULL, agents TEXT NOT NULL, mac TEXT NOT NULL, event TEXT NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {t}_head (id INTEGER PRIMARY KEY, count BIGINT NOT NULL, mac TEXT NOT NULL, signature TEXT NOT NULL)"
            ),
        ] {
            sqlx::query(AssertSqlSafe(ddl))
                .execute(&sink.pool)
                .await
                .map_err(|e| sink.err(e))?;
        }
        Ok(sink)
    }

    fn err(&self, e: impl std::fmt::Display) -> PolicyError {
        PolicyError::sink(self.name, e)
    }

    /// Appends `records` with their index after the stored head, in one transaction.
    pub async fn append(
        &self,
        records: &[(Vec<u8>, Index)],
        key: &[u8],
    ) -> Result<(), PolicyError> {
        let t = &self.table;
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        if self.postgres {
            sqlx::query(AssertSqlSafe(format!(
                "LOCK TABLE {t}_head IN EXCLUSIVE MODE"
            )))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT count, mac FROM {t}_head WHERE id = 1"
        )))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        let mut head = match row {
            Some(r) => Head {
                count: u64::try_from(r.try_get::<i64, _>(0).map_err(|e| self.err(e))?).unwrap_or(0),
                mac: chain::from_hex(&r.try_get::<String, _>(1).map_err(|e| self.err(e))?)
                    .ok_or_else(|| self.err("stored head MAC is malformed"))?,
            },
            None => Head::default(),
        };
        let insert = format!(
            "INSERT INTO {t} (seq, recorded, action, patients, agents, mac, event) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        for (record, index) in records {
            let (seq, mac) = head.append(key, record);
            let text = String::from_utf8_lossy(record).into_owned();
            sqlx::query(AssertSqlSafe(insert.clone()))
                .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .bind(index.recorded.clone())
                .bind(index.action.clone())
                .bind(format!(" {} ", index.patients.join(" ")))
                .bind(format!(" {} ", index.agents.join(" ")))
                .bind(chain::to_hex(&mac))
                .bind(text)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
        }
        sqlx::query(AssertSqlSafe(format!("INSERT INTO {t}_head (id, count, mac, signature) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET count = excluded.count, mac = excluded.mac, signature = excluded.signature")))
            .bind(i64::try_from(head.count).unwrap_or(i64::MAX))
            .bind(chain::to_hex(&head.mac))
            .bind(chain::to_hex(&head.signature(key)))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))
    }

    /// The stored checkpoint (`<table>_head`), `None` when empty.
    pub async fn read_checkpoint(&self) -> Result<Option<Checkpoint>, PolicyError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT count, mac, signature FROM {}_head WHERE id = 1",
            self.table
        )))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let Some(r) = row else { return Ok(None) };
        let bad = || self.err("stored head is malformed");
        let count: i64 = r.try_get(0).map_err(|e| self.err(e))?;
        let mac: String = r.try_get(1).map_err(|e| self.err(e))?;
        let signature: String = r.try_get(2).map_err(|e| self.err(e))?;
        Ok(Some(Checkpoint {
            head: Head {
                count: u64::try_from(count).map_err(|_| bad())?,
                mac: chain::from_hex(&mac).ok_or_else(bad)?,
            },
            signature: chain::from_hex(&signature).ok_or_else(bad)?,
        }))
    }

    /// Every record in sequence order (position = row number).
    pub async fn read_records(&self) -> Result<Vec<Stored>, PolicyError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT seq, mac, event FROM {} ORDER BY seq",
            self.table
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let seq: i64 = r.try_get(0).map_err(|e| self.err(e))?;
            let mac: String = r.try_get(1).map_err(|e| self.err(e))?;
            let event: String = r.try_get(2).map_err(|e| self.err(e))?;
            out.push(Stored {
                position: i as u64 + 1,
                seq: u64::try_from(seq).unwrap_or(0),
                mac: chain::from_hex(&mac).unwrap_or([0xff; 32]),
                record: event.into_bytes(),
            });
        }
        Ok(out)
    }

    /// Rows for search, newest first, narrowed in SQL by `filters` (the caller still
    /// checks every row against them).
    pub async fn search_rows(&self, filters: &[Filter]) -> Result<Vec<Row_>, PolicyError> {
        let (clause, binds) = where_clause(filters);
        let sql = format!(
            "SELECT recorded, action, patients, agents, event FROM {}{clause} ORDER BY seq DESC",
            self.table
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let get = |i: usize| r.try_get::<String, _>(i).map_err(|e| self.err(e));
            out.push(Row_ {
                index: Index {
                    recorded: get(0)?,
                    action: get(1)?,
                    patients: get(2)?.split_whitespace().map(str::to_owned).collect(),
                    agents: get(3)?.split_whitespace().map(str::to_owned).collect(),
                },
                event: get(4)?,
            });
        }
        Ok(out)
    }
}

/// `LIKE` pattern matching `value` as one space-delimited word (wildcards escaped).
fn word(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("% {escaped} %")
}

/// ` WHERE …` with `$n` placeholders for `filters` (values of one parameter OR-ed), and the
/// values to bind in order. Operators and lengths come from the parsed filter, never text.
fn where_clause(filters: &[Filter]) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let next = |v: String, binds: &mut Vec<String>| {
        binds.push(v);
        format!("${}", binds.len())
    };
    for f in filters {
        let part = match f {
            Filter::Date(prefix, value) => {
                let op = match prefix.as_str() {
                    "ne" => "<>",
                    "lt" => "<",
                    "le" => "<=",
                    "gt" => ">",
                    "ge" => ">=",
                    _ => "=",
                };
                let n = next(value.clone(), &mut binds);
                format!("substr(recorded, 1, {}) {op} {n}", value.len())
            }
            Filter::Patient(v) | Filter::Agent(v) | Filter::Action(v) => {
                let alternatives: Vec<String> = v
                    .split(',')
                    .map(|alt| match f {
                        Filter::Patient(_) => {
                            format!("patients LIKE {} ESCAPE '\\'", next(word(alt), &mut binds))
                        }
                        Filter::Agent(_) => {
                            format!("agents LIKE {} ESCAPE '\\'", next(word(alt), &mut binds))
                        }
                        _ => format!("action = {}", next(alt.to_owned(), &mut binds)),
                    })
                    .collect();
                format!("({})", alternatives.join(" OR "))
            }
        };
        parts.push(part);
    }
    if parts.is_empty() {
        (String::new(), binds)
    } else {
        (format!(" WHERE {}", parts.join(" AND ")), binds)
    }
}
