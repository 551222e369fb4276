//! An answer given while the request body was not read to its end carries
//! `Connection: close` (attack finding LOW 13; RFC 9112 §9.6): the unread rest cannot be told
//! from a next request, so the gateway closes the connection and says so. A body read whole
//! keeps the connection open for the next request.

mod support;

use support::raw::{authority, read_response};
use support::{Gateway, store_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn broken_chunked_framing_answers_400_with_connection_close() {
    let gw = Gateway::start(&store_config(""));
    let token = gw.token("system/*.*");
    let host = authority(&gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    let head = format!(
        "POST /fhir/Patient HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    // A chunk size that is not hexadecimal.
    stream.write_all(b"zz\r\n{}\r\n").await.expect("bad chunk");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.header("connection"), Some("close"));
    let outcome = response.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    // And the gateway does close it.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut rest),
    )
    .await
    .expect("closed within 30 s");
    assert!(read.is_err() || rest.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn a_body_read_whole_keeps_the_connection_open() {
    let gw = Gateway::start(&store_config(""));
    let token = gw.token("system/*.*");
    let host = authority(&gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    let body = r#"{"resourceType":"Patient","name":[{"family":"KeepAlive"}]}"#;
    for _ in 0..2 {
        let request = format!(
            "POST /fhir/Patient HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("request");
        let response = read_response(&mut stream).await;
        assert_eq!(response.status, 201);
        assert_eq!(response.header("connection"), None);
    }
}
