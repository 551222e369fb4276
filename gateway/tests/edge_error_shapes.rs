//! Error shapes found by a fresh-user attack run, through the real binary with the shipped
//! `gateway.yaml`: a method `$ingest` does not take is 405 with `Allow: POST`; an operation
//! no route serves is 404 `not-supported` after authentication (401 first) and before scopes,
//! the same for every patient; the served operations keep working; `/ncpdp/script` and
//! `/sandbox/pharmacy/script` refuse an oversized body (413) and bad credentials (401,
//! `WWW-Authenticate: Basic`) with a SCRIPT Error, as `application/xml`.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, authed, client, repo_root};

const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
const LIZ: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";

/// The shipped gateway.yaml on a free port, with `server.body_limit` at 4 KiB.
fn shipped() -> Gateway {
    let config = std::fs::read_to_string(repo_root().join("gateway.yaml"))
        .expect("gateway.yaml")
        .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")
        .replace("body_limit: 16MiB", "body_limit: 4KiB");
    assert!(
        config.contains("body_limit: 4KiB"),
        "shipped body_limit moved"
    );
    Gateway::start(&config)
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Asserts an OperationOutcome answer; returns its diagnostics.
async fn outcome(r: reqwest::Response, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status(), status, "{}", r.url());
    let ct = header(&r, "content-type");
    assert!(ct.starts_with("application/fhir+json"), "{ct}");
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
    body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Asserts a SCRIPT Error 900 answer as `application/xml`; returns the response headers.
async fn script_error(r: reqwest::Response, status: StatusCode) -> reqwest::header::HeaderMap {
    assert_eq!(r.status(), status);
    let ct = header(&r, "content-type");
    assert!(ct.starts_with("application/xml"), "{ct}");
    assert!(r.headers().contains_key("x-request-id"));
    let headers = r.headers().clone();
    let body = r.text().await.expect("body");
    assert!(body.contains("<Message"), "{body}");
    assert!(
        body.contains("<Error>") && body.contains("<Code>900</Code>"),
        "{body}"
    );
    headers
}

#[tokio::test]
async fn ingest_with_another_method_than_post_is_405_with_allow_post() {
    let gw = shipped();
    let c = gw.system_client();
    let url = gw.fhir(&format!("/Patient/{BUSTER}/$ingest?format=omh"));
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = c.request(method.clone(), &url).send().await.expect("send");
        assert_eq!(header(&r, "allow"), "POST", "{method}");
        let why = outcome(r, StatusCode::METHOD_NOT_ALLOWED, "not-supported").await;
        assert!(why.contains("$ingest"), "{why}");
    }
    // Without a token: 401 first, nothing said about the path.
    let r = client().get(&url).send().await.expect("send");
    outcome(r, StatusCode::UNAUTHORIZED, "login").await;
    // POST still ingests.
    let body = std::fs::read(
        repo_root().join("tests/fixtures/wearables/openmhealth/omh-heart-rate-2.0.json"),
    )
    .expect("fixture");
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let bundle: Value = r.json().await.expect("json");
    assert_eq!(bundle["type"], "batch-response", "{bundle}");
}

#[tokio::test]
async fn an_operation_no_route_serves_is_404_not_supported_after_authentication() {
    let gw = shipped();
    let c = gw.system_client();
    let r = c
        .get(gw.fhir("/Patient/$no-such-op"))
        .send()
        .await
        .expect("send");
    let why = outcome(r, StatusCode::NOT_FOUND, "not-supported").await;
    assert_eq!(why, "operation $no-such-op is not supported on Patient");
    let r = c
        .post(gw.fhir("/Patient/x/$no-such-op"))
        .header("content-type", "application/fhir+json")
        .body(r#"{"resourceType":"Parameters"}"#)
        .send()
        .await
        .expect("send");
    let why = outcome(r, StatusCode::NOT_FOUND, "not-supported").await;
    assert_eq!(
        why,
        "operation $no-such-op is not supported on Patient instances"
    );
    let r = c.get(gw.fhir("/$no-such-op")).send().await.expect("send");
    let why = outcome(r, StatusCode::NOT_FOUND, "not-supported").await;
    assert_eq!(
        why,
        "operation $no-such-op is not supported on the system level"
    );
    // The store serves no operations: $everything is not offered by the shipped routes.
    let r = c
        .get(gw.fhir(&format!("/Patient/{BUSTER}/$everything")))
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::NOT_FOUND, "not-supported").await;

    // No token: 401, whatever the operation.
    for path in ["/Patient/$no-such-op", "/Patient/x/$no-such-op"] {
        let r = client().get(gw.fhir(path)).send().await.expect("send");
        outcome(r, StatusCode::UNAUTHORIZED, "login").await;
    }

    // A patient token: the same answer for its own patient and another one (nothing about
    // the other patient is revealed), and no 403.
    let buster = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/*.rs",
        "--patient",
        BUSTER,
    ]));
    let mut answers = Vec::new();
    for id in [BUSTER, LIZ, "no-such-patient"] {
        let r = buster
            .get(gw.fhir(&format!("/Patient/{id}/$graph")))
            .send()
            .await
            .expect("send");
        answers.push(outcome(r, StatusCode::NOT_FOUND, "not-supported").await);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(!answers[0].contains(BUSTER) && !answers[0].contains(LIZ));
}

#[tokio::test]
async fn served_operations_keep_working_and_take_only_their_methods() {
    let gw = shipped();
    let c = gw.system_client();
    let request = json!({"resourceType": "CoverageEligibilityRequest", "status": "active",
        "purpose": ["benefits"], "patient": {"reference": format!("Patient/{BUSTER}")},
        "created": "2024-05-01", "provider": {"reference": "Practitioner/sandbox-prescriber"},
        "item": [{"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "98"}]}}]});
    let r = c
        .post(gw.fhir("/CoverageEligibilityRequest/$submit"))
        .header("content-type", "application/fhir+json")
        .body(request.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.expect("json");
    assert_eq!(
        answer["resourceType"], "CoverageEligibilityResponse",
        "{answer}"
    );
    let r = c
        .get(gw.fhir("/CoverageEligibilityRequest/$submit"))
        .send()
        .await
        .expect("send");
    assert_eq!(header(&r, "allow"), "POST");
    outcome(r, StatusCode::METHOD_NOT_ALLOWED, "not-supported").await;
    // A token without the scope $submit needs: still 403 for a served operation.
    let reader = authed(&gw.token("system/Patient.rs"));
    let r = reader
        .post(gw.fhir("/CoverageEligibilityRequest/$submit"))
        .header("content-type", "application/fhir+json")
        .body(request.to_string())
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn ncpdp_script_over_the_body_limit_is_413_with_a_script_error() {
    let gw = shipped();
    let big = format!("<Message>{}</Message>", "x".repeat(8 * 1024));
    for path in ["/ncpdp/script", "/sandbox/pharmacy/script"] {
        let r = client()
            .post(format!("{}{path}", gw.url))
            .header("content-type", "application/xml")
            .body(big.clone())
            .send()
            .await
            .expect("send");
        script_error(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
}

#[tokio::test]
async fn sandbox_pharmacy_bad_credentials_are_401_with_basic_and_a_script_error() {
    let gw = shipped();
    let url = format!("{}/sandbox/pharmacy/script", gw.url);
    let body = "<Message/>";
    let none = client()
        .post(&url)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .expect("send");
    let wrong = client()
        .post(&url)
        .header("content-type", "application/xml")
        .basic_auth("9999999", Some("not-the-secret"))
        .body(body)
        .send()
        .await
        .expect("send");
    for r in [none, wrong] {
        let headers = script_error(r, StatusCode::UNAUTHORIZED).await;
        let challenge = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            challenge.starts_with("Basic realm=\"sandbox-pharmacy\""),
            "{challenge}"
        );
    }
    // The gateway's own inbound endpoint answers the same way.
    let r = client()
        .post(format!("{}/ncpdp/script", gw.url))
        .header("content-type", "application/xml")
        .basic_auth("9999999", Some("not-the-secret"))
        .body(body)
        .send()
        .await
        .expect("send");
    let headers = script_error(r, StatusCode::UNAUTHORIZED).await;
    assert!(
        headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic realm=")),
        "{headers:?}"
    );
}
