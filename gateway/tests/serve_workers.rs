//! `fhirgate serve` with several HTTP worker threads (`server.workers`): every worker
//! serves, and SIGTERM lets a request in flight on any of them finish before exit.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use support::{Gateway, auth_section, store_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An upstream that answers every request with `Patient/slow` after `delay`.
async fn slow_upstream(delay: Duration) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let body = r#"{"resourceType":"Patient","id":"slow"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let port = slow_upstream(Duration::from_millis(1500)).await;
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    let mut gw = Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n  workers: 2\n  shutdown_grace_seconds: 20\n{auth}adapters:\n  ehr:\n    kind: fhir\n    base_url: http://127.0.0.1:{port}/fhir\nroutes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n"
    ));
    let client = gw.system_client();
    let url = gw.fhir("/Patient/slow");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = tokio::task::spawn_blocking(move || gw.terminate())
        .await
        .expect("terminate");
    let answer = in_flight.await.expect("join").expect("answered");
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["id"], "slow");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn every_worker_thread_serves_and_all_connections_are_answered() {
    let config = store_config("  workers: 3\n") + "rate_limits:\n  enabled: false\n";
    let gw = Gateway::start(&config);
    let threads = std::fs::read_dir(format!("/proc/{}/task", gw.pid()))
        .expect("proc")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("fhirgate-http-"))
        .count();
    assert_eq!(threads, 3);
    let token = gw.token("system/*.rs");
    let mut tasks = Vec::new();
    for _ in 0..24 {
        // One client each: 24 separate connections, spread over the workers by accept().
        let client = support::authed(&token);
        let url = gw.fhir("/Patient?_count=1");
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..5 {
                let r = client.get(&url).send().await.expect("send");
                if r.status() == StatusCode::OK {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut answered = 0;
    for t in tasks {
        answered += t.await.expect("join");
    }
    assert_eq!(answered, 120);
}
