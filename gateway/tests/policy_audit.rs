//! The audit trail through the real binary: one AuditEvent per PHI request, denied ones
//! included; `fhirgate audit verify` passes on the written trail and names the first bad
//! record after an edit, a deletion, an insertion, a truncation and a chain recomputed
//! without the key; a failing sink answers 503 and serves nothing unaudited. The same for
//! the PostgreSQL sink (database `test`, a fresh table per run).

mod support;

use std::path::{Path, PathBuf};

use fhirgate::policy::audit::chain::{self, Head};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, authed, client, run_cli, store_config};

fn config(audit: &str) -> String {
    format!(
        "{}rate_limits:\n  enabled: false\naudit:\n  fsync: false\n{audit}",
        store_config("")
    )
}

async fn put_patient(gw: &Gateway, id: &str) {
    let r = gw
        .system_client()
        .put(gw.fhir(&format!("/Patient/{id}")))
        .header("content-type", "application/fhir+json")
        .body(
            json!({"resourceType": "Patient", "id": id, "name": [{"family": "Secret"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("put");
    assert!(r.status().is_success(), "{}", r.status());
}

fn verify(gw: &Gateway) -> (i32, String, String) {
    let cfg = gw.dir.path().join("gateway.yaml");
    run_cli(
        &["audit", "verify", "--config", cfg.to_str().expect("utf-8")],
        gw.dir.path(),
    )
}

fn log_path(gw: &Gateway) -> PathBuf {
    gw.dir.path().join("data/audit/audit.jsonl")
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("line")["event"].clone())
        .collect()
}

/// Makes: PUT (system), GET (system), GET without token (401), GET by another patient's
/// token (denied), GET metadata (not audited).
async fn traffic(gw: &Gateway) {
    put_patient(gw, "pa").await;
    let r = gw
        .system_client()
        .get(gw.fhir("/Patient/pa"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .get(gw.fhir("/Patient/pa"))
        .send()
        .await
        .expect("anon");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let other = authed(&gw.token_with(&[
        "--scope",
        "patient/*.rs",
        "--patient",
        "pb",
        "--client-id",
        "app-b",
    ]));
    let r = other
        .get(gw.fhir("/Patient/pa"))
        .send()
        .await
        .expect("denied");
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    let r = client()
        .get(gw.fhir("/metadata"))
        .send()
        .await
        .expect("metadata");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn allowed_and_denied_calls_are_recorded_in_balp_shape() {
    let gw = Gateway::start(&config(""));
    traffic(&gw).await;
    let events = events(&log_path(&gw));
    assert_eq!(events.len(), 4, "metadata is not audited: {events:#?}");
    let subtypes: Vec<&str> = events
        .iter()
        .map(|e| e["subtype"][0]["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(subtypes, ["update", "read", "read", "read"]);
    let outcomes: Vec<&str> = events
        .iter()
        .map(|e| e["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, ["0", "0", "4", "4"]);
    for e in &events {
        assert_eq!(e["resourceType"], "AuditEvent");
        assert_eq!(e["type"]["code"], "rest");
        assert_eq!(e["entity"][0]["what"]["reference"], "Patient/pa", "{e}");
        assert!(
            e["source"]["observer"]["display"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        assert_eq!(e["agent"][0]["network"]["address"], "127.0.0.1");
    }
    assert_eq!(events[0]["action"], "U");
    assert_eq!(
        events[1]["agent"][0]["who"]["identifier"]["value"],
        "fhirgate-cli"
    );
    assert_eq!(
        events[2]["agent"][0]["who"]["identifier"]["value"],
        "unauthenticated"
    );
    assert_eq!(events[3]["agent"][0]["who"]["identifier"]["value"], "app-b");
    assert_eq!(events[2]["outcomeDesc"], "HTTP 401");
    let logs = gw.logs().join("\n");
    assert!(!logs.contains("Secret"), "no PHI in logs");
}

#[tokio::test]
async fn audit_event_search_reads_the_trail_with_the_system_scope_only() {
    let gw = Gateway::start(&config(""));
    traffic(&gw).await;
    let auditor = authed(&gw.token("system/AuditEvent.rs"));
    let bundle: Value = auditor
        .get(gw.fhir("/AuditEvent?patient=Patient/pa&action=R"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 3, "{bundle}");
    let bundle: Value = auditor
        .get(gw.fhir("/AuditEvent?agent=app-b&date=ge2020-01-01"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(bundle["total"], 1, "{bundle}");
    assert_eq!(
        bundle["entry"][0]["resource"]["agent"][0]["who"]["identifier"]["value"],
        "app-b"
    );
    let r = gw
        .system_client()
        .get(gw.fhir("/AuditEvent?action=C"))
        .send()
        .await
        .expect("search");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "system/*.* includes AuditEvent search"
    );
    let reader = authed(&gw.token("system/Patient.rs"));
    let r = reader
        .get(gw.fhir("/AuditEvent"))
        .send()
        .await
        .expect("forbidden");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The searches themselves were audited.
    let last = events(&log_path(&gw)).pop().expect("event");
    assert_eq!(last["subtype"][0]["code"], "search-type");
    assert_eq!(last["outcome"], "4");
}

#[tokio::test]
async fn audit_event_search_pages_with_first_previous_and_next_links() {
    let gw = Gateway::start(&config(""));
    for id in ["p1", "p2", "p3", "p4", "p5"] {
        put_patient(&gw, id).await;
    }
    let auditor = authed(&gw.token("system/AuditEvent.rs"));
    let get = |url: String| {
        let auditor = auditor.clone();
        async move {
            let r = auditor.get(url).send().await.expect("search");
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.expect("json")
        }
    };
    let link = |b: &Value, relation: &str| {
        b["link"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["relation"] == relation)
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned)
    };
    let ids = |b: &Value| -> Vec<String> {
        b["entry"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| {
                        e["resource"]["entity"][0]["what"]["reference"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    // The PUTs (action U), newest first, two per page.
    let first = get(gw.fhir("/AuditEvent?action=U&_count=2")).await;
    assert_eq!(first["total"], 5, "{first}");
    assert_eq!(ids(&first), ["Patient/p5", "Patient/p4"]);
    assert!(link(&first, "previous").is_none());
    let next = link(&first, "next").expect("next");
    assert!(
        next.contains("_offset=2") && next.contains("action=U"),
        "{next}"
    );
    let second = get(next).await;
    assert_eq!(ids(&second), ["Patient/p3", "Patient/p2"]);
    let third = get(link(&second, "next").expect("next")).await;
    assert_eq!(ids(&third), ["Patient/p1"]);
    assert!(link(&third, "next").is_none(), "last page");
    let back = get(link(&third, "previous").expect("previous")).await;
    assert_eq!(ids(&back), ["Patient/p3", "Patient/p2"]);
    assert_eq!(
        ids(&get(link(&third, "first").expect("first")).await),
        ids(&first)
    );
    let r = auditor
        .get(gw.fhir("/AuditEvent?_offset=-1"))
        .send()
        .await
        .expect("bad offset");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn audit_events_are_read_from_the_trail_and_never_written_through_the_api() {
    let gw = Gateway::start(&config(""));
    traffic(&gw).await;
    let id = events(&log_path(&gw))[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let auditor = authed(&gw.token("system/AuditEvent.rs"));
    let r = auditor
        .get(gw.fhir(&format!("/AuditEvent/{id}")))
        .send()
        .await
        .expect("read");
    assert_eq!(r.status(), StatusCode::OK);
    let event: Value = r.json().await.expect("json");
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["action"], "U");
    let r = auditor
        .get(gw.fhir("/AuditEvent/no-such-record"))
        .send()
        .await
        .expect("read");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Even a token that may write everything cannot add, replace or remove a record.
    let admin = gw.system_client();
    let forged =
        json!({"resourceType": "AuditEvent", "id": id, "recorded": "2026-01-01T00:00:00Z"});
    for r in [
        admin.post(gw.fhir("/AuditEvent")),
        admin.put(gw.fhir(&format!("/AuditEvent/{id}"))),
        admin.delete(gw.fhir(&format!("/AuditEvent/{id}"))),
    ] {
        let r = r
            .header("content-type", "application/fhir+json")
            .body(forged.to_string())
            .send()
            .await
            .expect("write");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()["allow"], "GET");
        let oo: Value = r.json().await.expect("json");
        assert_eq!(oo["issue"][0]["code"], "not-supported");
    }
    let r = auditor
        .get(gw.fhir(&format!("/AuditEvent/{id}")))
        .send()
        .await
        .expect("read");
    let event: Value = r.json().await.expect("json");
    assert_eq!(event["action"], "U", "the record is the trail's: {event}");
    let reader = authed(&gw.token("system/Patient.rs"));
    let r = reader
        .get(gw.fhir(&format!("/AuditEvent/{id}")))
        .send()
        .await
        .expect("read");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let metadata: Value = client()
        .get(gw.fhir("/metadata"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    let audit = metadata["rest"][0]["resource"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["type"] == "AuditEvent")
        .cloned()
        .expect("AuditEvent listed");
    let codes: Vec<&str> = audit["interaction"]
        .as_array()
        .expect("interactions")
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert_eq!(codes, ["read", "search-type"]);
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("log")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write");
}

#[tokio::test]
async fn verify_passes_then_names_the_first_broken_record() {
    let mut gw = Gateway::start(&config(""));
    traffic(&gw).await;
    gw.terminate();
    let (code, out, err) = verify(&gw);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "audit trail intact: 4 records");
    let path = log_path(&gw);
    let pristine = lines(&path);
    let check = |mutated: Vec<String>, expect: &str| {
        write_lines(&path, &mutated);
        let (code, out, err) = verify(&gw);
        assert_eq!(code, 1, "{expect}: {out}{err}");
        assert!(err.contains(expect), "expected '{expect}' in: {err}");
    };
    let mut edited = pristine.clone();
    edited[1] = edited[1].replace("\"outcome\":\"0\"", "\"outcome\":\"4\"");
    assert_ne!(edited[1], pristine[1]);
    check(edited, "record 2 (position 2) fails its HMAC");
    let mut deleted = pristine.clone();
    deleted.remove(1);
    check(deleted, "position 2 has sequence 3 where 2 was expected");
    let mut inserted = pristine.clone();
    inserted.insert(2, pristine[1].clone());
    check(inserted, "position 3 has sequence 2 where 3 was expected");
    let mut truncated = pristine.clone();
    truncated.pop();
    check(truncated, "record 4 is missing");
    // Recompute the whole chain and checkpoint with a key that is not the gateway's.
    let forged_key = b"not-the-gateway-key-not-the-gateway-key";
    let mut head = Head::default();
    let mut forged = Vec::new();
    for line in &pristine {
        let v: Value = serde_json::from_str(line).expect("line");
        let event = serde_json::to_string(&v["event"]).expect("event");
        let (seq, mac) = head.append(forged_key, event.as_bytes());
        forged.push(format!(
            "{{\"seq\":{seq},\"mac\":\"{}\",\"event\":{event}}}",
            chain::to_hex(&mac)
        ));
    }
    let checkpoint = json!({"count": head.count, "mac": chain::to_hex(&head.mac), "signature": chain::to_hex(&head.signature(forged_key))});
    std::fs::write(
        gw.dir.path().join("data/audit/audit.head"),
        checkpoint.to_string(),
    )
    .expect("checkpoint");
    check(forged, "record 1 (position 1) fails its HMAC");
}

#[tokio::test]
async fn a_truncated_log_stays_detectable_after_a_restart_and_new_records() {
    let mut gw = Gateway::start(&config(""));
    traffic(&gw).await;
    gw.terminate();
    let path = log_path(&gw);
    let mut kept = lines(&path);
    kept.pop();
    write_lines(&path, &kept);
    let mut gw = Gateway::start_in(&config(""), gw.kill());
    put_patient(&gw, "pc").await;
    gw.terminate();
    let (code, out, err) = verify(&gw);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("position 4 has sequence 5 where 4 was expected"),
        "{err}"
    );
}

#[tokio::test]
async fn the_key_file_is_private_and_apart_from_the_log() {
    let gw = Gateway::start(&config(""));
    let key = gw.dir.path().join("data/audit.key");
    let meta = std::fs::metadata(&key).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert!(
        !log_path(&gw)
            .parent()
            .expect("dir")
            .join("audit.key")
            .exists()
    );
}

#[tokio::test]
async fn a_failing_sink_answers_503_and_serves_nothing_unaudited() {
    let gw = Gateway::start(&config(""));
    put_patient(&gw, "pa").await;
    // The log path becomes a directory: every append fails.
    let path = log_path(&gw);
    std::fs::remove_file(&path).expect("remove");
    std::fs::create_dir(&path).expect("dir");
    let r = gw
        .system_client()
        .get(gw.fhir("/Patient/pa"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = r.text().await.expect("body");
    assert!(
        !body.contains("Secret"),
        "the patient was not served: {body}"
    );
    assert!(body.contains("\"transient\""), "{body}");
    let r = client()
        .get(gw.fhir("/metadata"))
        .send()
        .await
        .expect("metadata");
    assert_eq!(r.status(), StatusCode::OK, "non-PHI endpoints keep working");
    let metrics = gw.metrics().await;
    assert!(
        metrics.contains("fhirgate_audit_failures_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn fail_open_serves_when_the_sink_fails() {
    let gw = Gateway::start(&config("  fail_open: true\n"));
    put_patient(&gw, "pa").await;
    let path = log_path(&gw);
    std::fs::remove_file(&path).expect("remove");
    std::fs::create_dir(&path).expect("dir");
    let r = gw
        .system_client()
        .get(gw.fhir("/Patient/pa"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn queued_release_answers_first_and_still_records_and_chains_every_call() {
    let gw = Gateway::start(&config("  release: queued\n"));
    traffic(&gw).await;
    // The answers did not wait for the records; the writer stores them right after.
    let mut events = Vec::new();
    for _ in 0..100 {
        events = self::events(&log_path(&gw));
        if events.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let outcomes: Vec<&str> = events
        .iter()
        .map(|e| e["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, ["0", "0", "4", "4"]);
    // The checkpoint follows the log within one batch.
    let mut verified = verify(&gw);
    for _ in 0..20 {
        if verified.0 == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        verified = verify(&gw);
    }
    assert_eq!(verified.0, 0, "{}{}", verified.1, verified.2);
}

fn psql(sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            sql,
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn postgres_config(table: &str) -> String {
    config(&format!(
        "  sink: postgres\n  url: postgres://postgres@127.0.0.1:5432/test\n  table: {table}\n"
    ))
}

/// Drops the run's tables when the test ends, pass or fail.
struct Tables(String);

impl Drop for Tables {
    fn drop(&mut self) {
        let t = &self.0;
        let _ = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c"])
            .arg(format!("DROP TABLE IF EXISTS {t}, {t}_head, {t}_backup"))
            .output();
    }
}

#[tokio::test]
async fn postgres_sink_records_verifies_and_names_the_first_broken_record() {
    let table = format!("audit_{}", uuid::Uuid::new_v4().simple());
    let _cleanup = Tables(table.clone());
    let mut gw = Gateway::start(&postgres_config(&table));
    traffic(&gw).await;
    gw.terminate();
    let t = &table;
    assert_eq!(psql(&format!("SELECT count(*) FROM {t}")).trim(), "4");
    let outcomes = psql(&format!(
        "SELECT event::json->>'outcome' FROM {t} ORDER BY seq"
    ));
    assert_eq!(outcomes.lines().collect::<Vec<_>>(), ["0", "0", "4", "4"]);
    let (code, out, err) = verify(&gw);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "audit trail intact: 4 records");
    psql(&format!("CREATE TABLE {t}_backup AS SELECT * FROM {t}"));
    let restore = format!("DELETE FROM {t}; INSERT INTO {t} SELECT * FROM {t}_backup");
    let check = |tamper: &str, expect: &str| {
        psql(tamper);
        let (code, out, err) = verify(&gw);
        assert_eq!(code, 1, "{expect}: {out}{err}");
        assert!(err.contains(expect), "expected '{expect}' in: {err}");
        psql(&restore);
    };
    check(
        &format!(
            "UPDATE {t} SET event = replace(event, '\"outcome\":\"0\"', '\"outcome\":\"4\"') WHERE seq = 2"
        ),
        "record 2 (position 2) fails its HMAC",
    );
    check(
        &format!("DELETE FROM {t} WHERE seq = 2"),
        "position 2 has sequence 3 where 2 was expected",
    );
    check(
        &format!(
            "UPDATE {t} SET seq = seq + 100 WHERE seq >= 3; UPDATE {t} SET seq = seq - 99 WHERE seq > 100; \
             INSERT INTO {t} SELECT 3, recorded, action, patients, agents, mac, event FROM {t}_backup WHERE seq = 2"
        ),
        "record 3 (position 3) fails its HMAC",
    );
    check(
        &format!("DELETE FROM {t} WHERE seq = 4"),
        "record 4 is missing",
    );
    // A chain and head recomputed with another key.
    let forged_key = b"not-the-gateway-key-not-the-gateway-key";
    let mut head = Head::default();
    let mut sql = String::new();
    for line in psql(&format!("SELECT event FROM {t} ORDER BY seq")).lines() {
        let (seq, mac) = head.append(forged_key, line.as_bytes());
        sql.push_str(&format!(
            "UPDATE {t} SET mac = '{}' WHERE seq = {seq};",
            chain::to_hex(&mac)
        ));
    }
    sql.push_str(&format!(
        "UPDATE {t}_head SET mac = '{}', signature = '{}'",
        chain::to_hex(&head.mac),
        chain::to_hex(&head.signature(forged_key))
    ));
    check(&sql, "record 1 (position 1) fails its HMAC");
}

#[tokio::test]
async fn postgres_sink_unavailable_answers_503_and_serves_nothing_unaudited() {
    let table = format!("audit_{}", uuid::Uuid::new_v4().simple());
    let _cleanup = Tables(table.clone());
    let gw = Gateway::start(&postgres_config(&table));
    put_patient(&gw, "pa").await;
    psql(&format!("DROP TABLE {table}"));
    let r = gw
        .system_client()
        .get(gw.fhir("/Patient/pa"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!r.text().await.expect("body").contains("Secret"));
}

#[tokio::test]
async fn sqlite_sink_records_and_verifies() {
    let mut gw = Gateway::start(&config("  sink: sqlite\n"));
    traffic(&gw).await;
    gw.terminate();
    let (code, out, err) = verify(&gw);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "audit trail intact: 4 records");
    assert!(gw.dir.path().join("data/audit.db").exists());
}

#[tokio::test]
async fn postgres_sink_answers_audit_event_search_in_sql() {
    let table = format!("audit_{}", uuid::Uuid::new_v4().simple());
    let _cleanup = Tables(table.clone());
    let gw = Gateway::start(&postgres_config(&table));
    traffic(&gw).await;
    let auditor = authed(&gw.token("system/AuditEvent.rs"));
    let search = |q: &'static str| {
        let (auditor, url) = (auditor.clone(), gw.fhir(&format!("/AuditEvent?{q}")));
        async move {
            auditor
                .get(url)
                .send()
                .await
                .expect("search")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(search("patient=pa&action=R").await["total"], 3);
    assert_eq!(search("agent=app-b&date=ge2020-01-01").await["total"], 1);
    assert_eq!(
        search("agent=app_b").await["total"],
        0,
        "LIKE wildcards are escaped"
    );
    assert_eq!(search("action=C,U").await["total"], 1);
    assert_eq!(search("date=lt2020").await["total"], 0);
}

#[tokio::test]
async fn postgres_slow_sink_full_queue_answers_503_then_recovers() {
    let table = format!("audit_{}", uuid::Uuid::new_v4().simple());
    let _cleanup = Tables(table.clone());
    let gw = Gateway::start(&config(&format!(
        "  sink: postgres\n  url: postgres://postgres@127.0.0.1:5432/test\n  table: {table}\n  queue: 1\n  write_timeout_ms: 1000\n"
    )));
    put_patient(&gw, "pa").await;
    // Another session holds the chain head locked: the writer stalls inside its transaction.
    let mut holder = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c"])
        .arg(format!(
            "BEGIN; LOCK TABLE {table}_head IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;"
        ))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let c = gw.system_client();
    let started = std::time::Instant::now();
    let requests = (0..6).map(|_| {
        let (c, url) = (c.clone(), gw.fhir("/Patient/pa"));
        async move { c.get(url).send().await.expect("get").status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "503 within the write timeout"
    );
    holder.wait().expect("psql");
    let mut recovered = 0;
    for _ in 0..50 {
        if c.get(gw.fhir("/Patient/pa"))
            .send()
            .await
            .expect("get")
            .status()
            == StatusCode::OK
        {
            recovered += 1;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(recovered, 1, "served again once the sink writes");
    let metrics = gw.metrics().await;
    assert!(metrics.contains("reason=\"queue_full\""), "{metrics}");
    assert!(metrics.contains("reason=\"timeout\""), "{metrics}");
}
