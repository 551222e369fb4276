//! HTTP/1.1 over a raw TCP connection, for what reqwest cannot send: a request head whose
//! body never comes (or comes a byte at a time), read back as status, headers and body;
//! plus the buffered-body budget gauge from `/metrics`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Gateway;

/// One response read from a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// `127.0.0.1:PORT` of `gw`.
pub fn authority(gw: &Gateway) -> String {
    gw.url.trim_start_matches("http://").to_owned()
}

/// Opens a connection to `gw` and sends the head of `method path` with `Host` and the
/// `headers` (`Name: value` lines), then nothing more.
pub async fn send_head(gw: &Gateway, method: &str, path: &str, headers: &[String]) -> TcpStream {
    let host = authority(gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
}

/// Reads one HTTP/1.1 response (with `Content-Length`) from `stream`, failing the test when
/// nothing comes within 30 s rather than hanging.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = read_within(stream, &mut chunk).await;
        assert!(n > 0, "connection closed before the response head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .expect("content-length");
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = read_within(stream, &mut chunk).await;
        assert!(n > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

/// One read from `stream`, failing the test after 30 s rather than hanging.
pub async fn read_within(stream: &mut TcpStream, chunk: &mut [u8]) -> usize {
    tokio::time::timeout(Duration::from_secs(30), stream.read(chunk))
        .await
        .expect("no response within 30 s")
        .expect("read")
}

/// `fhirgate_buffered_request_reserved_bytes` from `/metrics` (`None` before the first
/// reservation).
pub async fn reserved(gw: &Gateway) -> Option<u64> {
    gw.metrics().await.lines().find_map(|l| {
        l.strip_prefix("fhirgate_buffered_request_reserved_bytes ")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
    })
}

/// Waits (up to 10 s) until exactly `bytes` are reserved.
pub async fn wait_reserved(gw: &Gateway, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reserved(gw).await != Some(bytes) {
        assert!(
            Instant::now() < deadline,
            "reserved bytes stayed {:?}, expected {bytes}",
            reserved(gw).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A batch creating 12 Patients whose family names are `tag` repeated 50 000 times (about
/// 600 KB for a one-letter tag): a body large enough to reserve budget.
pub fn large_batch(tag: &str) -> String {
    let entry = serde_json::json!({
        "resource": {"resourceType": "Patient", "name": [{"family": tag.repeat(50_000)}]},
        "request": {"method": "POST", "url": "Patient"}
    });
    serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": vec![entry; 12]})
        .to_string()
}

/// The head of a FHIR JSON request with `token` declaring `length` body bytes.
pub fn fhir_head(token: &str, length: usize) -> Vec<String> {
    vec![
        format!("Authorization: Bearer {token}"),
        "Content-Type: application/fhir+json".into(),
        "Accept: application/fhir+json".into(),
        format!("Content-Length: {length}"),
    ]
}
