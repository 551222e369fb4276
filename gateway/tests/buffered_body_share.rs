//! Each client's share of the buffered-body budget
//! (`server.max_buffered_request_bytes_per_client`, attack finding MEDIUM 6): while one
//! client's large batch holds its share (head and half its body sent over a raw
//! connection), that client's next large request answers 429 `throttled` at once with
//! `Retry-After`, before its body is read; another client's request of the same size, and
//! another user of the same app, are served meanwhile; the held batch then completes.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use support::raw::{fhir_head, large_batch, read_response, send_head, wait_reserved};
use support::{Gateway, store_config};
use tokio::io::AsyncWriteExt;

async fn post_batch(gw: &Gateway, token: &str, body: String) -> StatusCode {
    support::authed(token)
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(body)
        .send()
        .await
        .expect("batch")
        .status()
}

#[tokio::test]
async fn a_client_holding_its_share_is_refused_429_while_others_are_served() {
    // A 4 MiB budget, of which one client holds at most 1 MiB.
    let gw = Gateway::start(&store_config(
        "  body_limit: 1MiB\n  max_buffered_request_bytes: 4MiB\n  max_buffered_request_bytes_per_client: 1MiB\n",
    ));
    let app_a = gw.token_with(&["--scope", "system/*.*", "--client-id", "app-a"]);
    let app_b = gw.token_with(&["--scope", "system/*.*", "--client-id", "app-b"]);
    let app_a_other_user = gw.token_with(&[
        "--scope",
        "system/*.*",
        "--client-id",
        "app-a",
        "--fhir-user",
        "Practitioner/other",
    ]);
    let first = large_batch("a");
    assert!(first.len() > 512 * 1024 && first.len() < 1024 * 1024);
    let held_bytes = first.len().div_ceil(1024) as u64 * 1024;

    // Client A's first batch: its head and half its body, reserved and waiting.
    let mut held = send_head(&gw, "POST", "/fhir", &fhir_head(&app_a, first.len())).await;
    let half = first.len() / 2;
    held.write_all(&first.as_bytes()[..half])
        .await
        .expect("half");
    wait_reserved(&gw, held_bytes).await;

    // A's second batch of the same size would pass A's share: 429 at once, body unread.
    let second = large_batch("b");
    let started = Instant::now();
    let mut refused = send_head(&gw, "POST", "/fhir", &fhir_head(&app_a, second.len())).await;
    let response = read_response(&mut refused).await;
    assert_eq!(response.status, 429);
    assert!(started.elapsed() < Duration::from_secs(1), "no wait");
    assert_eq!(response.header("retry-after"), Some("2"));
    assert_eq!(
        response.header("content-type"),
        Some("application/fhir+json; charset=utf-8")
    );
    let outcome: Value = response.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["severity"], "error");
    assert_eq!(outcome["issue"][0]["code"], "throttled");
    assert_eq!(
        outcome["issue"][0]["diagnostics"],
        "your large request bodies in progress already hold your share of the gateway's buffer (server.max_buffered_request_bytes_per_client: 1048576 bytes); nothing was processed, retry in 2 s"
    );
    wait_reserved(&gw, held_bytes).await;

    // Client B's batch of the same size is served meanwhile, and so is another user's of A's app.
    assert_eq!(
        post_batch(&gw, &app_b, second.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        post_batch(&gw, &app_a_other_user, second).await,
        StatusCode::OK
    );

    // A's held batch completes and is answered in full; the budget is whole again.
    held.write_all(&first.as_bytes()[half..])
        .await
        .expect("rest");
    let response = read_response(&mut held).await;
    assert_eq!(response.status, 200);
    let answer: Value = response.json();
    let entries = answer["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 12);
    assert!(
        entries
            .iter()
            .all(|e| e["response"]["status"].as_str() == Some("201 Created")),
        "{answer}"
    );
    wait_reserved(&gw, 0).await;
    // With its share free again, A's next large batch is admitted.
    assert_eq!(
        post_batch(&gw, &app_a, large_batch("c")).await,
        StatusCode::OK
    );
    assert!(
        gw.metrics()
            .await
            .lines()
            .any(|l| l == "fhirgate_buffered_request_client_share_refused_total 1"),
        "one refusal counted"
    );
}

#[tokio::test]
async fn a_share_above_the_budget_is_a_config_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = store_config(
        "  body_limit: 1MiB\n  max_buffered_request_bytes: 2MiB\n  max_buffered_request_bytes_per_client: 3MiB\n",
    );
    std::fs::write(dir.path().join("gateway.yaml"), config).expect("config");
    let (code, out, err) =
        support::run_cli(&["check-config", "--config", "gateway.yaml"], dir.path());
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err.trim(),
        "gateway.yaml:5: server.max_buffered_request_bytes_per_client: must be at least server.body_limit and at most server.max_buffered_request_bytes"
    );
}
