//! What crosses the `fhir` adapter besides the body: request headers (allow-list,
//! X-Forwarded-*, never the client's Authorization), response headers (hop-by-hop and
//! server-control headers stripped, Location rewritten), and the query string.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use fhirgate_adapters::Adapter;
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;
use support::recorder::{Canned, Recorder};
use support::{adapter, body_bytes, header, request};

fn patient_answer(base: &str) -> Canned {
    let mut c = Canned::json(200, &json!({"resourceType": "Patient", "id": "1"}));
    for (n, v) in [
        ("ETag", "W/\"3\"".to_owned()),
        ("Last-Modified", "Sun, 29 Nov 2026 10:00:00 GMT".to_owned()),
        ("Location", format!("{base}/Patient/1/_history/3")),
        ("Content-Location", format!("{base}/Patient/1/_history/3")),
        ("Cache-Control", "no-cache".to_owned()),
        ("Vary", "Accept".to_owned()),
        ("Server", "HAPI FHIR 7.0".to_owned()),
        ("X-Powered-By", "HAPI FHIR 7.0 REST Server".to_owned()),
        ("HAPI-Request-Id", "abc".to_owned()),
        ("X-Progress", "50%".to_owned()),
        ("Connection", "keep-alive".to_owned()),
        ("Keep-Alive", "timeout=5".to_owned()),
        ("Proxy-Authenticate", "Basic".to_owned()),
        ("Upgrade", "h2c".to_owned()),
        ("Trailer", "Expires".to_owned()),
        ("Set-Cookie", "JSESSIONID=1".to_owned()),
    ] {
        c.headers.push((n.into(), v));
    }
    c
}

#[tokio::test]
async fn request_headers_are_allow_listed_and_forwarded_headers_set() {
    let up = Recorder::start(|_| Canned::json(200, &json!({"resourceType": "Patient"}))).await;
    let a = adapter(json!({"base_url": up.base}));
    let mut req = request(Method::PUT, "Patient/1");
    req.client_ip = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
    for (n, v) in [
        ("accept", "application/fhir+json"),
        ("content-type", "application/fhir+json"),
        ("if-match", "W/\"2\""),
        ("if-none-match", "W/\"1\""),
        ("if-none-exist", "identifier=urn:x|1"),
        ("if-modified-since", "Sun, 29 Nov 2026 10:00:00 GMT"),
        ("prefer", "return=representation"),
        ("authorization", "Bearer client-token"),
        ("cookie", "session=1"),
        ("hapi-request-id", "x"),
        ("x-forwarded-for", "10.9.9.9"),
    ] {
        req.headers.insert(
            http::HeaderName::from_static(n),
            HeaderValue::from_static(v),
        );
    }
    req.body = br#"{"resourceType":"Patient","id":"1"}"#.to_vec().into();
    let resp = a.handle(req).await.expect("answer");
    assert_eq!(resp.status, StatusCode::OK);
    let seen = &up.requests()[0];
    assert_eq!(seen.request_line, "PUT /fhir/Patient/1 HTTP/1.1");
    assert_eq!(seen.header("accept"), Some("application/fhir+json"));
    assert_eq!(seen.header("content-type"), Some("application/fhir+json"));
    assert_eq!(seen.header("if-match"), Some("W/\"2\""));
    assert_eq!(seen.header("if-none-match"), Some("W/\"1\""));
    assert_eq!(seen.header("if-none-exist"), Some("identifier=urn:x|1"));
    assert_eq!(
        seen.header("if-modified-since"),
        Some("Sun, 29 Nov 2026 10:00:00 GMT")
    );
    assert_eq!(seen.header("prefer"), Some("return=representation"));
    assert_eq!(seen.header("x-forwarded-for"), Some("203.0.113.7"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("x-forwarded-host"), Some("gw.example.org"));
    assert_eq!(seen.header("x-request-id"), Some("req-0001"));
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.header("cookie"), None);
    assert_eq!(seen.header("hapi-request-id"), None);
    assert_eq!(seen.body, br#"{"resourceType":"Patient","id":"1"}"#);
    let names: Vec<&str> = seen.headers.iter().map(|(n, _)| n.as_str()).collect();
    for n in &names {
        assert!(
            [
                "accept",
                "content-type",
                "if-match",
                "if-none-match",
                "if-none-exist",
                "if-modified-since",
                "prefer",
                "x-forwarded-for",
                "x-forwarded-proto",
                "x-forwarded-host",
                "x-request-id",
                "host",
                "user-agent",
                "content-length",
            ]
            .contains(n),
            "unexpected header {n} in {names:?}"
        );
    }
}

#[tokio::test]
async fn response_headers_are_allow_listed_and_locations_rewritten() {
    let up = Recorder::start(|r| {
        patient_answer(&format!(
            "http://{}/fhir",
            r.header("host").unwrap_or_default()
        ))
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let resp = a
        .handle(request(Method::GET, "Patient/1"))
        .await
        .expect("answer");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(header(&resp, "etag"), Some("W/\"3\""));
    assert_eq!(
        header(&resp, "last-modified"),
        Some("Sun, 29 Nov 2026 10:00:00 GMT")
    );
    assert_eq!(header(&resp, "cache-control"), Some("no-cache"));
    assert_eq!(header(&resp, "vary"), Some("Accept"));
    assert_eq!(header(&resp, "content-type"), Some("application/fhir+json"));
    assert_eq!(
        header(&resp, "location"),
        Some("https://gw.example.org/fhir/Patient/1/_history/3")
    );
    for stripped in [
        "server",
        "x-powered-by",
        "hapi-request-id",
        "x-progress",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "upgrade",
        "trailer",
        "set-cookie",
        "transfer-encoding",
        "content-length",
    ] {
        assert_eq!(header(&resp, stripped), None, "{stripped} must be stripped");
    }
    let body = body_bytes(resp).await;
    assert_eq!(body, br#"{"resourceType":"Patient","id":"1"}"#);
}

#[tokio::test]
async fn location_headers_are_rewritten_to_the_public_base() {
    let up = Recorder::start(|r| {
        let host = r.header("host").unwrap_or_default().to_owned();
        let mut c = Canned::json(201, &json!({"resourceType": "Patient", "id": "9"}));
        c.headers.push((
            "Location".into(),
            format!("http://{host}/fhir/Patient/9/_history/1"),
        ));
        c.headers.push((
            "Content-Location".into(),
            format!("http://{host}/fhir/Patient/9/_history/1"),
        ));
        c
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let resp = a
        .handle(request(Method::POST, "Patient"))
        .await
        .expect("answer");
    assert_eq!(resp.status, StatusCode::CREATED);
    assert_eq!(
        header(&resp, "location"),
        Some("https://gw.example.org/fhir/Patient/9/_history/1")
    );
    assert_eq!(
        header(&resp, "content-location"),
        Some("https://gw.example.org/fhir/Patient/9/_history/1")
    );
}

#[tokio::test]
async fn raw_query_is_forwarded_verbatim() {
    let up = Recorder::start(|_| {
        Canned::json(200, &json!({"resourceType": "Bundle", "type": "searchset"}))
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let raw = "date=ge2013-04-05T18:50:00+05:30&code=http://loinc.org|8867-4&x=a%2Fb&n=M%C3%BCller";
    a.handle(request(Method::GET, &format!("Observation?{raw}")))
        .await
        .expect("answer");
    assert_eq!(
        up.requests()[0].target(),
        format!("/fhir/Observation?{raw}")
    );
}

#[tokio::test]
async fn changed_query_is_re_encoded() {
    let up = Recorder::start(|_| {
        Canned::json(200, &json!({"resourceType": "Bundle", "type": "searchset"}))
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let mut req = request(Method::GET, "Observation");
    req.raw_query = None;
    req.query = vec![
        ("date".into(), "ge2013-04-05T18:50:00+05:30".into()),
        ("code".into(), "http://loinc.org|8867-4".into()),
        ("x".into(), "a/b c".into()),
        ("name:contains".into(), "Müller,Jo".into()),
    ];
    a.handle(req).await.expect("answer");
    assert_eq!(
        up.requests()[0].target(),
        "/fhir/Observation?date=ge2013-04-05T18:50:00%2B05:30&code=http:%2F%2Floinc.org%7C8867-4\
         &x=a%2Fb%20c&name:contains=M%C3%BCller,Jo"
    );
}

#[tokio::test]
async fn post_search_is_forwarded_as_form() {
    let up = Recorder::start(|_| {
        Canned::json(200, &json!({"resourceType": "Bundle", "type": "searchset"}))
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let mut req = request(Method::POST, "Observation/_search");
    req.query = vec![("date".into(), "ge2013-04-05T18:50:00+05:30".into())];
    a.handle(req).await.expect("answer");
    let seen = &up.requests()[0];
    assert_eq!(seen.request_line, "POST /fhir/Observation/_search HTTP/1.1");
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen.body, b"date=ge2013-04-05T18%3A50%3A00%2B05%3A30");
}

#[tokio::test]
async fn upstream_operation_outcome_passes_through_unchanged() {
    let outcome = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"x 72.10"}]}"#;
    let up = Recorder::start(|_| Canned {
        status: 422,
        headers: vec![("Content-Type".into(), "application/fhir+json".into())],
        body: outcome.to_vec(),
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let resp = a
        .handle(request(Method::POST, "Patient"))
        .await
        .expect("answer");
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_bytes(resp).await, outcome);
}
