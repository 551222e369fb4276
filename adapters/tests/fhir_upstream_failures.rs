//! `fhir` adapter failure modes over real sockets: upstream down → 502, stalled → 504,
//! broken body → 502, readiness check.

mod support;

use std::time::{Duration, Instant};

use fhirgate_adapters::{Adapter, AdapterError};
use http::{Method, StatusCode};
use serde_json::json;
use support::recorder::{Canned, Recorder, closed_base, stalling_upstream};
use support::{adapter, request};

#[tokio::test]
async fn upstream_down_is_unreachable_502() {
    let a = adapter(json!({"base_url": closed_base(), "connect_timeout_seconds": 2}));
    let err = a
        .handle(request(Method::GET, "Patient/1"))
        .await
        .expect_err("upstream is down");
    assert!(matches!(err, AdapterError::Unreachable { .. }), "{err:?}");
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(err.adapter(), "ehr");
    let check = a.check().await.expect_err("check fails");
    assert_eq!(check.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn stalled_upstream_is_timeout_504() {
    let (base, task) = stalling_upstream().await;
    let a =
        adapter(json!({"base_url": base, "timeout_seconds": 0.5, "check_timeout_seconds": 0.3}));
    let started = Instant::now();
    let err = a
        .handle(request(Method::GET, "Patient/1"))
        .await
        .expect_err("upstream stalls");
    let elapsed = started.elapsed();
    assert!(
        matches!(err, AdapterError::Timeout { seconds, .. } if seconds == 0.5),
        "{err:?}"
    );
    assert_eq!(err.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    let check = a.check().await.expect_err("check times out");
    assert!(
        matches!(check, AdapterError::Timeout { seconds, .. } if seconds == 0.3),
        "{check:?}"
    );
    task.abort();
}

#[tokio::test]
async fn broken_upstream_body_is_bad_gateway() {
    let up = Recorder::start(|_| Canned {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/fhir+json".into()),
            ("Content-Length".into(), "5000".into()),
        ],
        body: br#"{"resourceType":"Bundle","#.to_vec(),
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let err = a
        .handle(request(Method::GET, "Patient?name=x"))
        .await
        .expect_err("body breaks off");
    assert!(matches!(err, AdapterError::BadGateway { .. }), "{err:?}");
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn check_gets_metadata() {
    let up = Recorder::start(|r| {
        if r.target() == "/fhir/metadata" {
            Canned::json(200, &json!({"resourceType": "CapabilityStatement"}))
        } else {
            Canned::json(404, &json!({}))
        }
    })
    .await;
    let a = adapter(json!({"base_url": format!("{}/", up.base)}));
    a.check().await.expect("ready");
    assert_eq!(up.requests()[0].request_line, "GET /fhir/metadata HTTP/1.1");

    let failing = Recorder::start(|_| Canned::json(500, &json!({}))).await;
    let b = adapter(json!({"base_url": failing.base}));
    let err = b.check().await.expect_err("not ready");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
}
