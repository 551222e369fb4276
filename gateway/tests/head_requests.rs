//! HEAD on the FHIR API (attack finding LOW 12; RFC 9110 §9.1: a general-purpose server MUST
//! support GET and HEAD; §9.3.2: HEAD is GET without the content): the same status and
//! header fields as the GET, no body, for reads, searches, errors and unauthenticated callers.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::raw::authority;
use support::{Gateway, store_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `method path` with `token` and `Connection: close`; returns the status line, the
/// header fields (names lower-cased) and every byte after the head.
async fn exchange(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: &str,
) -> (String, Vec<(String, String)>, Vec<u8>) {
    let host = authority(gw);
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/fhir+json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let mut all = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut all),
    )
    .await
    .expect("answered and closed within 30 s")
    .expect("read");
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let text = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let status = lines.next().expect("status line").to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, all[end..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn head_answers_as_get_without_the_body() {
    let gw = Gateway::start(&store_config(""));
    let token = gw.token("system/*.*");
    let created = support::authed(&token)
        .post(gw.fhir("/Patient"))
        .header("content-type", "application/fhir+json")
        .body(json!({"resourceType": "Patient", "name": [{"family": "Head"}]}).to_string())
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let id = location
        .split("/Patient/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("id")
        .to_owned();

    for path in [
        format!("/fhir/Patient/{id}"),
        format!("/fhir/Patient/{id}/_history/1"),
        "/fhir/Patient?family=Head".to_owned(),
        "/fhir/metadata".to_owned(),
        "/fhir/Patient/no-such-id".to_owned(),
    ] {
        let (get_status, get_headers, get_body) = exchange(&gw, "GET", &path, &token).await;
        let (status, headers, body) = exchange(&gw, "HEAD", &path, &token).await;
        assert_eq!(status, get_status, "{path}");
        assert_eq!(body, b"", "{path}: no body after the head");
        assert_eq!(
            header(&headers, "content-length"),
            Some(get_body.len().to_string().as_str()),
            "{path}"
        );
        for name in ["content-type", "etag", "last-modified"] {
            assert_eq!(
                header(&headers, name),
                header(&get_headers, name),
                "{path}: {name}"
            );
        }
    }
    let (status, _, body) = exchange(&gw, "HEAD", &format!("/fhir/Patient/{id}"), &token).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, b"");
    let (status, _, _) = exchange(&gw, "HEAD", "/fhir/Patient/no-such-id", &token).await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    // Without a valid token: 401, as for GET.
    let (status, headers, body) =
        exchange(&gw, "HEAD", &format!("/fhir/Patient/{id}"), "not-a-token").await;
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert!(header(&headers, "www-authenticate").is_some());
    assert_eq!(body, b"");
}
