//! Connection limits (attack finding MEDIUM N3): silent connections (nothing sent) could
//! use up the gateway's file descriptors. Past `server.max_silent_connections_per_ip`
//! silent connections of one address a new connection is closed at once; at
//! `server.max_connections` open ones it evicts the oldest silent connection, or, with none
//! silent, is closed at once. Other addresses, connections that have sent a request and
//! fresh connections once a place is free are served.
//!
//! The held connections come from 127.0.0.2 (Linux routes all of 127/8 to the loopback),
//! the test's own requests from 127.0.0.1, so the per-address cap shows per address. One
//! keep-alive connection (the "observer") reads `/metrics` throughout, so no other
//! connection is opened to watch the counts.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::raw::{authority, read_response};
use support::{Gateway, store_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Well inside the 60 s head timeout of the test configs: a refused connection is closed
/// before this, a held one is not.
const PROMPTLY: Duration = Duration::from_secs(3);

fn gateway(server_extra: &str) -> Gateway {
    Gateway::start(&store_config(&format!(
        "  header_read_timeout_seconds: 60\n{server_extra}"
    )))
}

/// A connection to `gw` from `source` (e.g. `127.0.0.2`).
async fn connect_from(gw: &Gateway, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    let source: SocketAddr = format!("{source}:0").parse().expect("source");
    socket.bind(source).expect("bind source address");
    let target: SocketAddr = authority(gw).parse().expect("gateway address");
    socket.connect(target).await.expect("connect")
}

/// Sends `GET path` on `stream` and reads the answer's status.
async fn get(gw: &Gateway, stream: &mut TcpStream, path: &str) -> u16 {
    let host = authority(gw);
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("request");
    read_response(stream).await.status
}

/// True when the gateway closes `stream` (end of stream or reset) without sending a byte
/// within `within`; false when it stays open.
async fn closed_without_answer(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 256];
    match tokio::time::timeout(within, stream.read(&mut chunk)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(n)) => panic!(
            "the gateway answered: {:?}",
            String::from_utf8_lossy(&chunk[..n])
        ),
        Err(_) => false,
    }
}

/// The observer connection, reading `/metrics` on keep-alive.
struct Observer(TcpStream);

impl Observer {
    async fn open(gw: &Gateway) -> Self {
        let mut stream = connect_from(gw, "127.0.0.1").await;
        assert_eq!(get(gw, &mut stream, "/healthz").await, 200);
        Self(stream)
    }

    /// The value of the sample line starting `name ` (`name{labels} `), 0 when absent.
    async fn metric(&mut self, gw: &Gateway, name: &str) -> f64 {
        let host = authority(gw);
        self.0
            .write_all(format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .await
            .expect("metrics request");
        let response = read_response(&mut self.0).await;
        assert_eq!(response.status, 200);
        String::from_utf8_lossy(&response.body)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_owned))
            .map_or(0.0, |v| v.trim().parse().expect("sample value"))
    }

    /// Waits (up to 10 s) until `name` reads `value`.
    async fn wait_for(&mut self, gw: &Gateway, name: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.metric(gw, name).await;
            if now == value {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} stayed {now}, expected {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

const SILENT: &str = "fhirgate_connections_silent";
const OPEN: &str = "fhirgate_connections_open";
const REFUSED_SILENT: &str = "fhirgate_connections_refused_total{reason=\"per_ip_silent\"}";
const REFUSED_TOTAL: &str = "fhirgate_connections_refused_total{reason=\"max_connections\"}";
const EVICTED: &str = "fhirgate_connections_evicted_total";

#[tokio::test]
async fn silent_connections_past_the_per_address_cap_are_closed_at_once() {
    let gw = gateway("  max_silent_connections_per_ip: 5\n");
    let mut observer = Observer::open(&gw).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from(&gw, "127.0.0.2").await);
    }
    observer.wait_for(&gw, SILENT, 5.0).await;
    assert_eq!(observer.metric(&gw, OPEN).await, 6.0);
    // The sixth is closed at once, a request it sent unanswered.
    let mut sixth = connect_from(&gw, "127.0.0.2").await;
    let _ = sixth
        .write_all(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(closed_without_answer(&mut sixth, PROMPTLY).await);
    assert_eq!(observer.metric(&gw, REFUSED_SILENT).await, 1.0);
    assert_eq!(observer.metric(&gw, REFUSED_TOTAL).await, 0.0);
    // The five held ones stay open (until the head timeout).
    for stream in &mut held {
        assert!(!closed_without_answer(stream, Duration::from_millis(100)).await);
    }
    // Another address is not affected.
    let mut other = connect_from(&gw, "127.0.0.1").await;
    assert_eq!(get(&gw, &mut other, "/fhir/metadata").await, 200);
    // Once one silent connection is gone, a fresh one from the same address is served.
    drop(held.pop());
    observer.wait_for(&gw, SILENT, 4.0).await;
    let mut fresh = connect_from(&gw, "127.0.0.2").await;
    assert_eq!(get(&gw, &mut fresh, "/fhir/metadata").await, 200);
    assert_eq!(observer.metric(&gw, SILENT).await, 4.0);
    assert_eq!(observer.metric(&gw, REFUSED_SILENT).await, 1.0);
}

#[tokio::test]
async fn idle_keep_alive_connections_do_not_count_as_silent() {
    let gw = gateway("  max_silent_connections_per_ip: 5\n");
    let mut observer = Observer::open(&gw).await;
    // Five connections that each sent a request and now wait idle for their next…
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut stream = connect_from(&gw, "127.0.0.2").await;
        assert_eq!(get(&gw, &mut stream, "/healthz").await, 200);
        idle.push(stream);
    }
    // …leave all five silent places of their address free.
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(connect_from(&gw, "127.0.0.2").await);
    }
    observer.wait_for(&gw, SILENT, 5.0).await;
    assert_eq!(observer.metric(&gw, OPEN).await, 11.0);
    assert_eq!(observer.metric(&gw, REFUSED_SILENT).await, 0.0);
    let mut sixth = connect_from(&gw, "127.0.0.2").await;
    assert!(closed_without_answer(&mut sixth, PROMPTLY).await);
    assert_eq!(observer.metric(&gw, REFUSED_SILENT).await, 1.0);
    // The idle ones are still served.
    for stream in &mut idle {
        assert_eq!(get(&gw, stream, "/healthz").await, 200);
    }
}

#[tokio::test]
async fn at_max_connections_a_new_connection_evicts_the_oldest_silent_one() {
    let gw = gateway("  max_connections: 3\n");
    let mut observer = Observer::open(&gw).await;
    let mut oldest = connect_from(&gw, "127.0.0.2").await;
    let mut younger = connect_from(&gw, "127.0.0.3").await;
    observer.wait_for(&gw, OPEN, 3.0).await;
    // Silent connections from many addresses fill the cap: a client that sends its
    // request at once is still served, in place of the oldest silent connection.
    let mut fresh = connect_from(&gw, "127.0.0.1").await;
    assert_eq!(get(&gw, &mut fresh, "/fhir/metadata").await, 200);
    assert!(closed_without_answer(&mut oldest, PROMPTLY).await);
    assert_eq!(observer.metric(&gw, EVICTED).await, 1.0);
    assert_eq!(observer.metric(&gw, REFUSED_TOTAL).await, 0.0);
    observer.wait_for(&gw, OPEN, 3.0).await;
    // The younger silent connection is still open and can still be served.
    assert!(!closed_without_answer(&mut younger, Duration::from_millis(300)).await);
    assert_eq!(get(&gw, &mut younger, "/healthz").await, 200);
}

#[tokio::test]
async fn at_max_connections_with_none_silent_a_new_connection_is_closed_until_one_frees() {
    let gw = gateway("  max_connections: 3\n");
    let mut observer = Observer::open(&gw).await;
    // Two more connections that sent a request and stay open (keep-alive): none is silent.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from(&gw, "127.0.0.2").await;
        assert_eq!(get(&gw, &mut stream, "/healthz").await, 200);
        held.push(stream);
    }
    observer.wait_for(&gw, OPEN, 3.0).await;
    assert_eq!(observer.metric(&gw, SILENT).await, 0.0);
    // A fourth, from any address, is closed at once without an answer.
    for source in ["127.0.0.1", "127.0.0.3"] {
        let mut fourth = connect_from(&gw, source).await;
        let _ = fourth
            .write_all(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        assert!(
            closed_without_answer(&mut fourth, PROMPTLY).await,
            "{source}"
        );
    }
    assert_eq!(observer.metric(&gw, REFUSED_TOTAL).await, 2.0);
    assert_eq!(observer.metric(&gw, REFUSED_SILENT).await, 0.0);
    assert_eq!(observer.metric(&gw, EVICTED).await, 0.0);
    assert_eq!(observer.metric(&gw, OPEN).await, 3.0);
    // A place frees: the metadata answers on a fresh connection.
    drop(held.pop());
    observer.wait_for(&gw, OPEN, 2.0).await;
    let mut fresh = connect_from(&gw, "127.0.0.1").await;
    assert_eq!(get(&gw, &mut fresh, "/fhir/metadata").await, 200);
    assert_eq!(observer.metric(&gw, OPEN).await, 3.0);
    assert_eq!(observer.metric(&gw, REFUSED_TOTAL).await, 2.0);
}
