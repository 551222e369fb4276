//! An upgraded store is searchable by the parameters it did not index before: at startup
//! every resource type whose index rows were built with other parameters (or before
//! `index_state` existed) is reindexed from the stored bodies, once, without duplicates
//! — on SQLite and PostgreSQL.

mod store_harness;

use serde_json::json;
use sqlx::Connection;
use store_harness::{Backend, PG_URL, Store, config, open};

/// Runs `statements` on the store's database directly.
async fn sql(s: &Store, statements: &[&str]) {
    match &s.config.schema {
        Some(schema) => {
            let mut conn = sqlx::PgConnection::connect(PG_URL).await.expect("pg");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SET search_path TO \"{schema}\""
            )))
            .execute(&mut conn)
            .await
            .expect("search_path");
            for st in statements {
                sqlx::query(sqlx::AssertSqlSafe(st.to_string()))
                    .execute(&mut conn)
                    .await
                    .expect(st);
            }
        }
        None => {
            let url = format!("sqlite://{}", s.dir.join("store.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            for st in statements {
                sqlx::query(sqlx::AssertSqlSafe(st.to_string()))
                    .execute(&mut conn)
                    .await
                    .expect(st);
            }
        }
    }
}

async fn count(s: &Store, query: &str) -> i64 {
    let r = s.get(&format!("{query}&_summary=count")).await;
    r.json["total"].as_i64().unwrap_or(-1)
}

async fn stale_types_are_reindexed_at_startup(backend: Backend) {
    let (cfg, dir) = config(backend, false);
    let s = open(cfg.clone(), dir.clone()).await;
    let ms = s
        .create(
            &json!({"resourceType": "MedicationStatement", "status": "active",
            "medicationCodeableConcept": {"text": "aspirin"},
            "subject": {"reference": "Patient/rx1"}}),
        )
        .await;
    let p = s
        .create(&json!({"resourceType": "Patient", "name": [{"family": "Reindex"}]}))
        .await;
    // A store written before `index_state` existed, and before MedicationStatement.subject
    // was a parameter: no rows for it.
    sql(&s, &["DELETE FROM idx_ref", "DROP TABLE index_state"]).await;
    assert_eq!(
        count(&s, "MedicationStatement?subject=Patient/rx1").await,
        0
    );
    drop(s);
    let s = open(cfg.clone(), dir.clone()).await;
    assert_eq!(
        s.search_ids("MedicationStatement?subject=Patient/rx1")
            .await,
        vec![ms.clone()]
    );
    assert_eq!(count(&s, "MedicationStatement?patient=rx1").await, 1);
    assert_eq!(count(&s, "Patient?name=reindex").await, 1);
    assert_eq!(s.search_ids("Patient?name=reindex").await, vec![p]);

    // A type whose recorded fingerprint differs is rebuilt; others are left alone.
    sql(
        &s,
        &[
            "DELETE FROM idx_ref",
            "UPDATE index_state SET fingerprint = 'old' WHERE rtype = 'MedicationStatement'",
        ],
    )
    .await;
    drop(s);
    let s = open(cfg.clone(), dir.clone()).await;
    assert_eq!(
        count(&s, "MedicationStatement?subject=Patient/rx1").await,
        1
    );
    // Up to date: a restart rebuilds nothing (rows deleted behind its back stay deleted).
    sql(&s, &["DELETE FROM idx_ref"]).await;
    drop(s);
    let s = open(cfg, dir).await;
    assert_eq!(
        count(&s, "MedicationStatement?subject=Patient/rx1").await,
        0
    );
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stale_types_are_reindexed_at_startup() {
    stale_types_are_reindexed_at_startup(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stale_types_are_reindexed_at_startup() {
    stale_types_are_reindexed_at_startup(Backend::Postgres).await;
}
