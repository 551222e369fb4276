//! The process-wide budget of buffered request bodies (`server.max_buffered_request_bytes`,
//! attack finding M4): while one large batch holds most of the budget (its headers and half
//! its body sent over a raw connection), a second large request waits, then answers 503
//! `throttled` with `Retry-After` and an OperationOutcome before its body is read; small
//! requests are not held up; once the first is answered, large requests are admitted again
//! and nothing accepted was lost.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::raw::{authority, read_response, send_head, wait_reserved};
use support::{Gateway, store_config};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Entries of each large batch, and the length of each entry's family name.
const ENTRIES: usize = 12;
const FAMILY_CHARS: usize = 50_000;

fn gateway() -> Gateway {
    Gateway::start(&store_config(
        "  body_limit: 1MiB\n  max_buffered_request_bytes: 1MiB\n",
    ))
}

/// A batch creating `ENTRIES` Patients with long family names (about 600 KB).
fn large_batch(tag: &str) -> String {
    let family = tag.repeat(FAMILY_CHARS / tag.len());
    let entry = json!({
        "resource": {"resourceType": "Patient", "name": [{"family": family}]},
        "request": {"method": "POST", "url": "Patient"}
    });
    json!({"resourceType": "Bundle", "type": "batch", "entry": vec![entry; ENTRIES]}).to_string()
}

/// Opens a connection and sends the head of `POST /fhir` declaring `length` body bytes.
async fn post_head(gw: &Gateway, token: &str, length: usize) -> TcpStream {
    let head = [
        format!("Authorization: Bearer {token}"),
        "Content-Type: application/fhir+json".to_owned(),
        "Accept: application/fhir+json".to_owned(),
        format!("Content-Length: {length}"),
    ];
    send_head(gw, "POST", "/fhir", &head).await
}

async fn patient_count(gw: &Gateway) -> u64 {
    let r = gw
        .system_client()
        .get(gw.fhir("/Patient?_summary=count"))
        .send()
        .await
        .expect("count");
    assert_eq!(r.status(), StatusCode::OK);
    let bundle: Value = r.json().await.expect("json");
    bundle["total"].as_u64().expect("total")
}

#[tokio::test]
async fn large_bodies_past_the_budget_wait_then_answer_503_and_small_ones_pass() {
    let gw = gateway();
    let token = gw.token("system/*.*");
    let client = support::authed(&token);
    let before = patient_count(&gw).await;
    let first = large_batch("a");
    assert!(first.len() > 512 * 1024 && first.len() < 1024 * 1024);

    // The first batch: headers and half its body, so the gateway has reserved it and waits.
    let mut held = post_head(&gw, &token, first.len()).await;
    let half = first.len() / 2;
    held.write_all(&first.as_bytes()[..half])
        .await
        .expect("half");
    wait_reserved(&gw, first.len().div_ceil(1024) as u64 * 1024).await;

    // A second large request does not fit beside it: 503 after the wait, body unread.
    let second = large_batch("b");
    let started = Instant::now();
    let mut refused = post_head(&gw, &token, second.len()).await;
    let response = read_response(&mut refused).await;
    assert_eq!(response.status, 503);
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(response.header("retry-after"), Some("2"));
    assert_eq!(
        response.header("content-type"),
        Some("application/fhir+json; charset=utf-8")
    );
    let outcome: Value = serde_json::from_slice(&response.body).expect("OperationOutcome");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["severity"], "error");
    assert_eq!(outcome["issue"][0]["code"], "throttled");
    assert_eq!(
        outcome["issue"][0]["diagnostics"],
        "too many large request bodies are being processed at once (server.max_buffered_request_bytes: 1048576 bytes); nothing was processed, retry in 2 s"
    );

    // Small requests cost nothing from the budget and are served at once meanwhile.
    let started = Instant::now();
    let r = client
        .get(gw.fhir("/Patient?_count=1"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(gw.fhir("/Patient"))
        .header("content-type", "application/fhir+json")
        .body(r#"{"resourceType":"Patient","name":[{"family":"Small"}]}"#)
        .send()
        .await
        .expect("small POST");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(started.elapsed() < Duration::from_secs(1));

    // The first batch completes and is answered in full; its reservation is returned.
    held.write_all(&first.as_bytes()[half..])
        .await
        .expect("rest");
    let response = read_response(&mut held).await;
    assert_eq!(response.status, 200);
    let answer: Value = serde_json::from_slice(&response.body).expect("batch-response");
    let entries = answer["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), ENTRIES);
    assert!(
        entries
            .iter()
            .all(|e| e["response"]["status"].as_str() == Some("201 Created")),
        "{answer}"
    );
    wait_reserved(&gw, 0).await;

    // Room again: a large request is admitted.
    let r = client
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(second)
        .send()
        .await
        .expect("second batch");
    assert_eq!(r.status(), StatusCode::OK);
    // Both batches and the small create were stored; the refused request stored nothing.
    assert_eq!(patient_count(&gw).await, before + 2 * ENTRIES as u64 + 1);
    assert!(
        gw.metrics()
            .await
            .lines()
            .any(|l| l == "fhirgate_buffered_request_refused_total 1"),
        "one refusal counted"
    );
}

#[tokio::test]
async fn a_chunked_body_reserves_the_body_limit_until_it_is_answered() {
    let gw = gateway();
    let token = gw.token("system/*.*");
    let host = authority(&gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    let head = format!(
        "POST /fhir/Patient HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let patient = br#"{"resourceType":"Patient","name":[{"family":"Chunked"}]}"#;
    let (start, rest) = patient.split_at(10);
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(format!("{:x}\r\n", start.len()).as_bytes())
        .await
        .expect("chunk size");
    stream.write_all(start).await.expect("chunk");
    stream.write_all(b"\r\n").await.expect("chunk end");
    // Its length is unknown, so it holds the most it may buffer: server.body_limit.
    wait_reserved(&gw, 1024 * 1024).await;
    stream
        .write_all(format!("{:x}\r\n", rest.len()).as_bytes())
        .await
        .expect("chunk size");
    stream.write_all(rest).await.expect("chunk");
    stream
        .write_all(b"\r\n0\r\n\r\n")
        .await
        .expect("last chunk");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 201);
    assert!(response.header("location").is_some());
    wait_reserved(&gw, 0).await;
}

#[tokio::test]
async fn a_batch_declared_over_the_body_limit_answers_413_unread_and_reserves_nothing() {
    let gw = gateway();
    let token = gw.token("system/*.*");
    // Fill the budget, so a request that reserved anything would wait and answer 503.
    let first = large_batch("a");
    let mut held = post_head(&gw, &token, first.len()).await;
    wait_reserved(&gw, first.len().div_ceil(1024) as u64 * 1024).await;
    let started = Instant::now();
    let mut over = post_head(&gw, &token, 2 * 1024 * 1024).await;
    let response = read_response(&mut over).await;
    assert_eq!(response.status, 413);
    assert!(started.elapsed() < Duration::from_secs(1));
    let outcome: Value = serde_json::from_slice(&response.body).expect("OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "too-long");
    held.write_all(first.as_bytes()).await.expect("body");
    let response = read_response(&mut held).await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn an_anonymous_batch_is_refused_401_before_its_body_is_read() {
    let gw = gateway();
    let started = Instant::now();
    // Headers only, no token: nothing may wait for the 600 KB the request declares.
    let mut anonymous = post_head(&gw, "not-a-token", 600 * 1024).await;
    let response = read_response(&mut anonymous).await;
    assert_eq!(response.status, 401);
    assert!(response.header("www-authenticate").is_some());
    assert!(started.elapsed() < Duration::from_secs(1));
    wait_reserved(&gw, 0).await;
}
