//! Rows of the store: reading the current version or a past one, and writing a new
//! version (resource row, history row, index rows) inside the caller's transaction.

use serde_json::Value;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{Arguments, Row};

use super::db::{Backend, DbResult};
use super::index::{IndexRows, extract};
use super::resource::{now, stamp};

/// A resource version as stored.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// Internal row id (stable per logical resource; the keyset paging key).
    pub rid: i64,
    /// Resource type.
    pub rtype: String,
    /// Logical id.
    pub id: String,
    /// Version number (`meta.versionId`).
    pub version: i64,
    /// Whether this version is a deletion.
    pub deleted: bool,
    /// `meta.lastUpdated` in µs since the epoch.
    pub lu: i64,
    /// `meta.lastUpdated` as written in the resource.
    pub last_updated: String,
    /// The resource JSON (empty for a deletion).
    pub body: String,
}

/// Columns read by [`from_row`].
pub(crate) const COLUMNS: &str = "rid, rtype, id, version, deleted, lu, last_updated, body";

/// Reads a [`Stored`] from a row selected with [`COLUMNS`].
pub(crate) fn from_row(row: &AnyRow) -> DbResult<Stored> {
    Ok(Stored {
        rid: row.try_get(0)?,
        rtype: row.try_get(1)?,
        id: row.try_get(2)?,
        version: row.try_get(3)?,
        deleted: row.try_get::<i64, _>(4)? != 0,
        lu: row.try_get(5)?,
        last_updated: row.try_get(6)?,
        body: row.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
    })
}

/// The current version of `rtype/id` (possibly a deletion); locked for update on
/// PostgreSQL when `lock` is set.
pub(crate) async fn current(
    conn: &mut AnyConnection,
    backend: Backend,
    rtype: &str,
    id: &str,
    lock: bool,
) -> DbResult<Option<Stored>> {
    let suffix = if lock && backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM resources WHERE rtype = $1 AND id = $2{suffix}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(rtype)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Version `version` of `rtype/id` from the history.
pub(crate) async fn version(
    conn: &mut AnyConnection,
    rtype: &str,
    id: &str,
    version: i64,
) -> DbResult<Option<Stored>> {
    let row = sqlx::query(
        "SELECT rid, rtype, id, version, CASE WHEN body IS NULL THEN 1 ELSE 0 END, lu, \
         last_updated, body FROM history WHERE rtype = $1 AND id = $2 AND version = $3",
    )
    .bind(rtype)
    .bind(id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the next version of `rtype/id` after `prev`: `Some(resource)` stores it (with
/// `id` and `meta` stamped), `None` records a deletion. `method` is the HTTP verb for
/// the history Bundle.
pub(crate) async fn write(
    conn: &mut AnyConnection,
    rtype: &str,
    id: &str,
    prev: Option<&Stored>,
    resource: Option<Value>,
    method: &str,
) -> DbResult<Stored> {
    let version = prev.map_or(1, |p| p.version + 1);
    let (lu, last_updated) = now();
    let (body, rows) = match resource {
        Some(mut r) => {
            stamp(&mut r, id, version, &last_updated);
            let rows = extract(rtype, &r);
            (Some(r.to_string()), rows)
        }
        None => (None, IndexRows::default()),
    };
    let deleted = i64::from(body.is_none());
    let text = body.clone().unwrap_or_default();
    let rid = match prev {
        Some(p) => {
            sqlx::query(
                "UPDATE resources SET version = $1, deleted = $2, lu = $3, last_updated = $4, \
                 body = $5 WHERE rid = $6",
            )
            .bind(version)
            .bind(deleted)
            .bind(lu)
            .bind(&last_updated)
            .bind(&text)
            .bind(p.rid)
            .execute(&mut *conn)
            .await?;
            for table in ["idx_token", "idx_string", "idx_date", "idx_ref"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE rid = $1"
                )))
                .bind(p.rid)
                .execute(&mut *conn)
                .await?;
            }
            p.rid
        }
        None => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO resources (rtype, id, version, deleted, lu, last_updated, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING rid",
            )
            .bind(rtype)
            .bind(id)
            .bind(version)
            .bind(deleted)
            .bind(lu)
            .bind(&last_updated)
            .bind(&text)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    sqlx::query(
        "INSERT INTO history (rid, rtype, id, version, lu, last_updated, method, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(rid)
    .bind(rtype)
    .bind(id)
    .bind(version)
    .bind(lu)
    .bind(&last_updated)
    .bind(method)
    .bind(body.clone())
    .execute(&mut *conn)
    .await?;
    insert_index(conn, rid, &rows).await?;
    Ok(Stored {
        rid,
        rtype: rtype.to_owned(),
        id: id.to_owned(),
        version,
        deleted: deleted != 0,
        lu,
        last_updated,
        body: text,
    })
}

/// One value bound into a multi-row insert.
enum Cell<'a> {
    Int(i64),
    Text(&'a str),
}

/// Inserts `rows` into `table` (`columns` after `rid`) in chunks of multi-row `VALUES`.
async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    columns: &str,
    rid: i64,
    rows: &[Vec<Cell<'_>>],
) -> DbResult<()> {
    for chunk in rows.chunks(100) {
        let width = chunk.first().map_or(0, Vec::len) + 1;
        let mut sql = format!("INSERT INTO {table} (rid, {columns}) VALUES ");
        let mut args = sqlx::any::AnyArguments::default();
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..width {
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i * width + j + 1));
            }
            sql.push(')');
            args.add(rid).map_err(sqlx::Error::Encode)?;
            for cell in row {
                match cell {
                    Cell::Int(v) => args.add(*v),
                    Cell::Text(s) => args.add(s.to_string()),
                }
                .map_err(sqlx::Error::Encode)?;
            }
        }
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts the index rows of the resource at `rid`.
pub(crate) async fn insert_index(
    conn: &mut AnyConnection,
    rid: i64,
    rows: &IndexRows,
) -> DbResult<()> {
    let tokens: Vec<Vec<Cell>> = rows
        .tokens
        .iter()
        .map(|(p, s, c)| vec![Cell::Text(p), Cell::Text(s), Cell::Text(c)])
        .collect();
    insert_rows(conn, "idx_token", "param, system, code", rid, &tokens).await?;
    let strings: Vec<Vec<Cell>> = rows
        .strings
        .iter()
        .map(|(p, n, r)| vec![Cell::Text(p), Cell::Text(n), Cell::Text(r)])
        .collect();
    insert_rows(conn, "idx_string", "param, norm, raw", rid, &strings).await?;
    let dates: Vec<Vec<Cell>> = rows
        .dates
        .iter()
        .map(|(p, lo, hi)| vec![Cell::Text(p), Cell::Int(*lo), Cell::Int(*hi)])
        .collect();
    insert_rows(conn, "idx_date", "param, lo, hi", rid, &dates).await?;
    let refs: Vec<Vec<Cell>> = rows
        .refs
        .iter()
        .map(|(p, t, i)| vec![Cell::Text(p), Cell::Text(t), Cell::Text(i)])
        .collect();
    insert_rows(conn, "idx_ref", "param, ref_type, ref_id", rid, &refs).await
}
