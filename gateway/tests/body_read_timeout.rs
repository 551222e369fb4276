//! Slow and stalled request bodies (attack finding 3): a body that stops arriving
//! (`server.body_idle_timeout_seconds`) or trickles past `server.body_read_timeout_seconds`
//! answers 408 `timeout` with `Connection: close` (RFC 9110 §15.5.9) and returns its
//! buffered-body reservation, so a large request is admitted again; callers refused from
//! their request head hold nothing while they stall: `/ncpdp/script` and
//! `/sandbox/pharmacy/script` without credentials answer 401, a token without the write
//! scope answers 403, both without a byte of the body being read or reserved.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::Value;
use support::raw::{
    RawResponse, fhir_head, large_batch, read_response, read_within, reserved, send_head,
    wait_reserved,
};
use support::{Gateway, repo_root, store_config};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A store gateway with a 1 MiB body limit and budget and the given timeouts (seconds).
fn gateway(idle: u32, total: u32) -> Gateway {
    Gateway::start(&store_config(&format!(
        "  body_limit: 1MiB\n  max_buffered_request_bytes: 1MiB\n  body_idle_timeout_seconds: {idle}\n  body_read_timeout_seconds: {total}\n"
    )))
}

/// Asserts a 408 OperationOutcome (`timeout`) with `diagnostics` that closes the connection.
async fn assert_timed_out(stream: &mut TcpStream, response: &RawResponse, diagnostics: &str) {
    assert_eq!(response.status, 408);
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(
        response.header("content-type"),
        Some("application/fhir+json; charset=utf-8")
    );
    let outcome = response.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["severity"], "error");
    assert_eq!(outcome["issue"][0]["code"], "timeout");
    assert_eq!(outcome["issue"][0]["diagnostics"], diagnostics);
    let mut rest = [0u8; 64];
    assert_eq!(read_within(stream, &mut rest).await, 0, "connection closed");
}

#[tokio::test]
async fn a_stalled_body_answers_408_and_returns_its_reservation() {
    let gw = gateway(1, 30);
    let token = gw.token("system/*.*");
    let batch = large_batch("a");
    let mut stalled = send_head(&gw, "POST", "/fhir", &fhir_head(&token, batch.len())).await;
    stalled
        .write_all(&batch.as_bytes()[..1000])
        .await
        .expect("first bytes");
    let held = batch.len().div_ceil(1024) as u64 * 1024;
    // The budget holds its reservation while it waits for the rest...
    wait_reserved(&gw, held).await;
    // ...until the idle limit passes.
    let response = read_response(&mut stalled).await;
    assert_timed_out(
        &mut stalled,
        &response,
        "no part of the request body arrived for 1 s (server.body_idle_timeout_seconds); the request was not served",
    )
    .await;
    wait_reserved(&gw, 0).await;

    // The budget is whole again: a request needing more than what was left is served.
    let r = gw
        .system_client()
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(batch)
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.expect("batch-response");
    let statuses: Vec<&str> = answer["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["response"]["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["201 Created"; 12]);
}

#[tokio::test]
async fn a_trickled_body_answers_408_at_the_read_deadline() {
    let gw = gateway(2, 3);
    let token = gw.token("system/*.*");
    let length = 20_000;
    let mut trickled = send_head(&gw, "POST", "/fhir/Patient", &fhir_head(&token, length)).await;
    // A byte every 400 ms keeps the idle limit (2 s) from passing; the 3 s deadline passes.
    let mut sent = 0;
    let response = loop {
        assert!(sent < 100, "no answer after {sent} bytes");
        trickled.write_all(b" ").await.expect("one byte");
        sent += 1;
        let answered = tokio::time::timeout(Duration::from_millis(400), trickled.readable());
        if answered.await.is_ok() {
            break read_response(&mut trickled).await;
        }
    };
    assert_timed_out(
        &mut trickled,
        &response,
        "the request body was not complete within 3 s (server.body_read_timeout_seconds); the request was not served",
    )
    .await;
    wait_reserved(&gw, 0).await;
}

#[tokio::test]
async fn a_write_the_scopes_do_not_allow_is_403_before_its_body_is_read_or_reserved() {
    // With a 60 s idle limit, a gateway reading the stalled body would answer nothing here.
    let gw = gateway(60, 120);
    let token = gw.token("system/*.rs");
    let mut open = Vec::new();
    for (method, path, code) in [
        ("POST", "/fhir/Patient", "create"),
        ("PUT", "/fhir/Patient/p1", "update"),
    ] {
        let mut stalled = send_head(&gw, method, path, &fhir_head(&token, 600 * 1024)).await;
        let response = read_response(&mut stalled).await;
        assert_eq!(response.status, 403, "{method} {path}");
        let outcome = response.json();
        assert_eq!(outcome["issue"][0]["code"], "forbidden");
        assert_eq!(
            outcome["issue"][0]["diagnostics"],
            format!("the granted scopes do not allow {code} on Patient")
        );
        open.push(stalled);
    }
    // Nothing was ever reserved from the budget.
    assert_eq!(reserved(&gw).await, None);
}

#[tokio::test]
async fn adapter_endpoints_refuse_bad_credentials_401_before_reading_or_reserving() {
    let config = std::fs::read_to_string(repo_root().join("gateway.yaml"))
        .expect("gateway.yaml")
        .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")
        .replace("body_limit: 16MiB", "body_limit: 1MiB")
        .replace(
            "body_idle_timeout_seconds: 10",
            "body_idle_timeout_seconds: 60",
        )
        .replace(
            "max_buffered_request_bytes: 256MiB",
            "max_buffered_request_bytes: 1MiB",
        );
    assert!(config.contains("body_idle_timeout_seconds: 60"));
    let gw = Gateway::start(&config);
    let wrong = format!(
        "Authorization: Basic {}",
        STANDARD.encode("9999999:not-the-secret")
    );
    let mut open = Vec::new();
    for path in ["/ncpdp/script", "/sandbox/pharmacy/script"] {
        for credentials in [None, Some(wrong.clone())] {
            let mut head = vec![
                "Content-Type: application/xml".to_owned(),
                format!("Content-Length: {}", 600 * 1024),
            ];
            head.extend(credentials.clone());
            // Headers only: a gateway reading the body first would answer nothing for 60 s.
            let mut stalled = send_head(&gw, "POST", path, &head).await;
            let response = read_response(&mut stalled).await;
            assert_eq!(response.status, 401, "{path} {credentials:?}");
            // The body is never read, so the connection ends with this answer and says so.
            assert_eq!(response.header("connection"), Some("close"), "{path}");
            assert!(
                response
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("application/xml")),
                "{response:?}"
            );
            assert!(
                response
                    .header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Basic realm=")),
                "{response:?}"
            );
            open.push(stalled);
        }
    }
    // Four stalled 600 KB requests against a 1 MiB budget, and nothing was ever reserved.
    assert_eq!(reserved(&gw).await, None);
}
