//! A normal shutdown (SIGTERM) closes the audit trail cleanly: the process exits 0, logs no
//! ERROR, and `fhirgate audit verify` finds every audited request's record covered by the
//! checkpoint — with `audit.release: stored` and with `release: queued`, whose records may
//! still be in the writer's queue when the signal arrives.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, run_cli, store_config};

fn config(audit: &str) -> String {
    format!(
        "{}rate_limits:\n  enabled: false\naudit:\n  fsync: false\n{audit}",
        store_config("")
    )
}

/// `fhirgate audit verify` on `gw`'s config: (exit code, stdout, stderr).
fn verify(gw: &Gateway) -> (i32, String, String) {
    let cfg = gw.dir.path().join("gateway.yaml");
    run_cli(
        &["audit", "verify", "--config", cfg.to_str().expect("utf-8")],
        gw.dir.path(),
    )
}

/// Log lines whose `level` is ERROR.
fn errors(logs: &[String]) -> Vec<&String> {
    logs.iter()
        .filter(|l| {
            serde_json::from_str::<Value>(l).map_or(l.contains("ERROR"), |v| v["level"] == "ERROR")
        })
        .collect()
}

/// Starts the gateway, makes `requests` audited requests (a PUT, then reads), stops it with
/// SIGTERM right after the last answer and checks the exit, the logs and the trail, which
/// must hold `records` records in total.
async fn audited_requests_then_sigterm(gw: &mut Gateway, requests: usize, records: u64) {
    let client = gw.system_client();
    let r = client
        .put(gw.fhir("/Patient/pa"))
        .header("content-type", "application/fhir+json")
        .body(json!({"resourceType": "Patient", "id": "pa"}).to_string())
        .send()
        .await
        .expect("put");
    assert!(r.status().is_success(), "{}", r.status());
    for _ in 1..requests {
        let r = client
            .get(gw.fhir("/Patient/pa"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let status = gw.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    // The stderr reader thread may still be delivering the last lines.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = gw.logs();
    assert_eq!(errors(&logs), Vec::<&String>::new(), "{}", logs.join("\n"));
    assert!(
        logs.iter().any(|l| l.contains("\"stopped\"")),
        "the shutdown completed: {}",
        logs.join("\n")
    );
    let (code, out, err) = verify(gw);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, format!("audit trail intact: {records} records\n"));
}

#[tokio::test]
async fn sigterm_after_stored_release_writes_the_final_checkpoint_and_logs_no_error() {
    // Several rounds on the same trail: the shutdown race this guards against does not
    // show on every stop.
    let mut dir = tempfile::tempdir().expect("tempdir");
    for round in 1..=4u64 {
        let mut gw = Gateway::start_in(&config(""), dir);
        audited_requests_then_sigterm(&mut gw, 3, 3 * round).await;
        dir = gw.kill();
    }
}

#[tokio::test]
async fn sigterm_after_queued_release_writes_every_queued_record() {
    let mut dir = tempfile::tempdir().expect("tempdir");
    for round in 1..=4u64 {
        let mut gw = Gateway::start_in(&config("  release: queued\n"), dir);
        audited_requests_then_sigterm(&mut gw, 20, 20 * round).await;
        dir = gw.kill();
    }
}

#[tokio::test]
async fn a_checkpoint_that_cannot_be_written_is_still_logged_as_an_error_at_shutdown() {
    let mut gw = Gateway::start(&config(""));
    // The checkpoint is written to `audit.head.tmp` and renamed over `audit.head`: a
    // directory in the way makes every checkpoint write fail (even as root).
    std::fs::create_dir(gw.dir.path().join("data/audit/audit.head.tmp")).expect("mkdir");
    let r = gw
        .system_client()
        .put(gw.fhir("/Patient/pa"))
        .header("content-type", "application/fhir+json")
        .body(json!({"resourceType": "Patient", "id": "pa"}).to_string())
        .send()
        .await
        .expect("put");
    assert!(r.status().is_success(), "{}", r.status());
    let status = gw.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = gw.logs();
    let messages: Vec<String> = errors(&logs)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON log line");
            v["fields"]["message"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    // Once after the record was stored, once more at the shutdown's last checkpoint.
    assert_eq!(
        messages,
        [
            "audit checkpoint not updated",
            "audit checkpoint not updated"
        ],
        "{}",
        logs.join("\n")
    );
    let (code, out, err) = verify(&gw);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "fhirgate: audit trail broken: record 1 is not covered by the checkpoint (0 records)\n"
    );
}
