//! Slowloris (attack finding MEDIUM 5): a connection must send each whole request head within
//! `server.header_read_timeout_seconds`, counted from when it was accepted or from its
//! previous answer. A client trickling header lines, one that sends nothing and an idle
//! keep-alive connection are all closed without an answer; keep-alive itself still works,
//! and on SIGTERM idle and silent connections are closed at once rather than waited for.

mod support;

use std::time::Duration;

use support::raw::{authority, read_response};
use support::{Gateway, store_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far past the 1 s timeout of the test config: whatever must close does so before this.
const GENEROUS: Duration = Duration::from_secs(20);

fn gateway() -> Gateway {
    Gateway::start(&store_config("  header_read_timeout_seconds: 1\n"))
}

/// Reads until the gateway closes `stream`, failing after [`GENEROUS`]; returns what it
/// sent before closing.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(GENEROUS, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .expect("the gateway kept the connection open");
    got
}

#[tokio::test]
async fn a_client_trickling_header_lines_is_closed_without_an_answer() {
    let gw = gateway();
    let host = authority(&gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    stream
        .write_all(format!("POST /fhir/Patient HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
        .await
        .expect("request line");
    // One header line every 200 ms, for ever: the head is never complete.
    let deadline = tokio::time::Instant::now() + GENEROUS;
    let mut chunk = [0u8; 1024];
    let got = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gateway kept reading header lines"
        );
        if stream.write_all(b"X-A: 1\r\n").await.is_err() {
            break 0;
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut chunk)).await {
            Err(_) => continue,
            Ok(Ok(n)) => break n,
            Ok(Err(_)) => break 0,
        }
    };
    assert_eq!(got, 0, "closed without an answer");
    assert!(
        gw.metrics()
            .await
            .lines()
            .any(|l| l == "fhirgate_request_head_timeouts_total 1"),
        "the timeout is counted"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let gw = gateway();
    let mut stream = TcpStream::connect(authority(&gw)).await.expect("connect");
    assert_eq!(read_until_closed(&mut stream).await, b"");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answers() {
    let gw = gateway();
    let host = authority(&gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    let get = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    // Keep-alive still serves one request after another on the connection.
    for _ in 0..2 {
        stream.write_all(get.as_bytes()).await.expect("request");
        let response = read_response(&mut stream).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("connection"), None);
    }
    // Then it is left idle, and closed.
    assert_eq!(read_until_closed(&mut stream).await, b"");
}

#[tokio::test]
async fn a_request_sent_in_time_after_a_pause_is_served() {
    let gw = gateway();
    let host = authority(&gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    // Half the head, a pause well inside the timeout, the rest: one whole head in time.
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
        .await
        .expect("first part");
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(b"\r\n").await.expect("end of head");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn idle_and_silent_connections_do_not_hold_up_shutdown() {
    // Head timeout and grace both longer than the test waits: only closing idle
    // connections at once lets the gateway exit in time.
    let mut gw = Gateway::start(&store_config(
        "  header_read_timeout_seconds: 120\n  shutdown_grace_seconds: 60\n",
    ));
    let host = authority(&gw);
    let mut idle = TcpStream::connect(&host).await.expect("connect");
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("request");
    assert_eq!(read_response(&mut idle).await.status, 200);
    let _silent = TcpStream::connect(&host).await.expect("connect");
    // Let the gateway accept the silent connection before the signal.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let status = gw.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < GENEROUS,
        "exit waited for idle connections"
    );
    assert_eq!(read_until_closed(&mut idle).await, b"");
}
