//! Rebuilding the index rows of stored resources when what the store indexes changes: the
//! index rows are written only with each resource version, so a parameter added to the
//! table (or an extraction change) would leave resources stored before it unfindable by
//! that parameter — for a compartment anchor, invisible to their patient's searches.
//!
//! Table `index_state` keeps, per resource type, the fingerprint of the parameters its rows
//! were built with; at startup every stored type whose fingerprint differs (or is absent,
//! as in a store written before this table existed) is re-extracted from the current
//! bodies, in the same transaction that records the new fingerprint.

use serde_json::Value;
use sqlx::{AnyConnection, Executor, Row};

use super::db::{Backend, Db, DbResult};
use super::index::extract;
use super::params;
use super::storage::insert_index;

/// Version of the extraction code ([`super::index`]): bump it when the rows a resource
/// yields change for a reason the parameter table does not show, so stores reindex.
const EXTRACTION_VERSION: u32 = 1;

/// Resources read per batch while reindexing.
const BATCH: i64 = 500;

/// DDL of the fingerprint table (both backends).
const DDL: &str = "CREATE TABLE IF NOT EXISTS index_state (rtype TEXT PRIMARY KEY, \
                   fingerprint TEXT NOT NULL)";

/// The fingerprint of what the store indexes for `rtype`: the extraction version and every
/// parameter's name, type, paths and target, in table order.
pub(crate) fn fingerprint(rtype: &str) -> String {
    let mut out = format!("v{EXTRACTION_VERSION};");
    for p in params::of(rtype) {
        out.push_str(&format!(
            "{}:{}:{}:{};",
            p.name,
            p.kind.code(),
            p.paths.join(","),
            p.target.unwrap_or("")
        ));
    }
    out
}

/// Reindexes every stored resource type whose index rows were built with other parameters
/// than the current table's, and records the current fingerprints. Returns the number of
/// resources reindexed. On PostgreSQL the fingerprint table is locked (concurrent starters
/// wait, then find nothing stale) and, while reindexing, writers are held off
/// (`resources` in SHARE mode) so no write interleaves with the rebuild.
///
/// Errors: any database failure (the transaction is rolled back; the next start retries).
pub(crate) async fn reindex_stale(db: &Db) -> DbResult<usize> {
    db.pool.execute(DDL).await?;
    let _guard = match db.backend {
        Backend::Sqlite => Some(db.write_lock.lock().await),
        Backend::Postgres => None,
    };
    let mut tx = db.pool.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    if db.backend == Backend::Postgres {
        conn.execute("LOCK TABLE index_state IN EXCLUSIVE MODE")
            .await?;
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT DISTINCT rtype FROM resources")
        .fetch_all(&mut *conn)
        .await?;
    let known: Vec<(String, String)> = sqlx::query_as("SELECT rtype, fingerprint FROM index_state")
        .fetch_all(&mut *conn)
        .await?;
    let stale: Vec<&String> = stored
        .iter()
        .filter(|t| !known.iter().any(|(k, f)| k == *t && *f == fingerprint(t)))
        .collect();
    let mut total = 0;
    if !stale.is_empty() && db.backend == Backend::Postgres {
        conn.execute("LOCK TABLE resources IN SHARE MODE").await?;
    }
    for rtype in &stale {
        let n = reindex_type(conn, rtype).await?;
        tracing::info!(resource_type = %rtype, resources = n, "search index rebuilt");
        total += n;
    }
    let mut types: Vec<&str> = stored.iter().map(String::as_str).collect();
    types.extend(params::all().map(|p| p.resource));
    types.sort_unstable();
    types.dedup();
    for rtype in types {
        let print = fingerprint(rtype);
        if known.iter().any(|(k, f)| k == rtype && *f == print) {
            continue;
        }
        sqlx::query("DELETE FROM index_state WHERE rtype = $1")
            .bind(rtype)
            .execute(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO index_state (rtype, fingerprint) VALUES ($1, $2)")
            .bind(rtype)
            .bind(print)
            .execute(&mut *conn)
            .await?;
    }
    tx.commit().await?;
    Ok(total)
}

/// Drops the index rows of every `rtype` resource and extracts them again from the current
/// bodies (deleted resources keep none). Returns the number of resources indexed.
async fn reindex_type(conn: &mut AnyConnection, rtype: &str) -> DbResult<usize> {
    for table in ["idx_token", "idx_string", "idx_date", "idx_ref"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE rid IN (SELECT rid FROM resources WHERE rtype = $1)"
        )))
        .bind(rtype)
        .execute(&mut *conn)
        .await?;
    }
    let mut after = 0i64;
    let mut count = 0;
    loop {
        let rows = sqlx::query(
            "SELECT rid, body FROM resources WHERE rtype = $1 AND deleted = 0 AND rid > $2 \
             ORDER BY rid LIMIT $3",
        )
        .bind(rtype)
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(count);
        };
        after = last.try_get(0)?;
        for row in &rows {
            let rid: i64 = row.try_get(0)?;
            let body: String = row.try_get(1)?;
            // A body that no longer parses cannot be searched; it stays readable by id.
            let Ok(resource) = serde_json::from_str::<Value>(&body) else {
                tracing::warn!(resource_type = %rtype, rid, "stored body is not JSON; not indexed");
                continue;
            };
            insert_index(conn, rid, &extract(rtype, &resource)).await?;
            count += 1;
        }
    }
}
