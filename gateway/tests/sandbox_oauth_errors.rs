//! The sandbox authorization server's token and introspection endpoints answer every error
//! as an RFC 6749 §5.2 error object (RFC 7662 §2.3 for introspection): `application/json`
//! `{"error", "error_description"}` with `Cache-Control: no-store` and `Pragma: no-cache`,
//! never the FHIR API's OperationOutcome — also when the request body stalls (408, with
//! `Connection: close`), is too large (413) or is not a form (415), or misses or repeats a
//! parameter (400) (attack finding LOW 13).

mod support;

use serde_json::{Value, json};
use support::raw::{RawResponse, read_response, read_within, send_head};
use support::{Gateway, store_config};
use tokio::io::AsyncWriteExt;

const FORM: &str = "application/x-www-form-urlencoded";

/// A gateway with the sandbox on and a 1 s body idle limit.
fn gateway() -> Gateway {
    Gateway::start(&store_config(
        "  body_idle_timeout_seconds: 1\n  body_read_timeout_seconds: 30\n",
    ))
}

/// Request headers for `path`: introspection carries the caller's own sandbox token
/// (RFC 7662 §2.1), so the body is read.
fn head(gw: &Gateway, path: &str, content_type: &str, length: usize) -> Vec<String> {
    let mut h = vec![
        format!("Content-Type: {content_type}"),
        format!("Content-Length: {length}"),
    ];
    if path.ends_with("introspect") {
        h.push(format!(
            "Authorization: Bearer {}",
            gw.token("system/Patient.r")
        ));
    }
    h
}

/// Asserts an RFC 6749 §5.2 error answer with `status` and `body`.
fn assert_oauth_error(r: &RawResponse, status: u16, body: Value, what: &str) {
    assert_eq!(r.status, status, "{what}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(r.header("pragma"), Some("no-cache"), "{what}");
    assert_eq!(r.json(), body, "{what}");
}

#[tokio::test]
async fn a_stalled_body_answers_408_invalid_request_and_closes() {
    let gw = gateway();
    for path in ["/sandbox/auth/token", "/sandbox/auth/introspect"] {
        let mut stream = send_head(&gw, "POST", path, &head(&gw, path, FORM, 100)).await;
        stream.write_all(b"grant_type=").await.expect("first bytes");
        let r = read_response(&mut stream).await;
        assert_oauth_error(
            &r,
            408,
            json!({
                "error": "invalid_request",
                "error_description": "no part of the request body arrived for 1 s (server.body_idle_timeout_seconds)"
            }),
            path,
        );
        assert_eq!(r.header("connection"), Some("close"), "{path}");
        let mut rest = [0u8; 64];
        assert_eq!(
            read_within(&mut stream, &mut rest).await,
            0,
            "{path} closed"
        );
    }
}

/// Introspection checks its caller before it reads the body (RFC 7662 §2.1): a caller
/// without a token is refused at once, whatever its body does, and the connection closes.
#[tokio::test]
async fn an_unauthorized_introspection_is_refused_before_its_body_is_read() {
    let gw = gateway();
    let head = vec![
        format!("Content-Type: {FORM}"),
        "Content-Length: 100".to_owned(),
    ];
    let mut stream = send_head(&gw, "POST", "/sandbox/auth/introspect", &head).await;
    let r = read_response(&mut stream).await;
    assert_oauth_error(
        &r,
        401,
        json!({
            "error": "invalid_token",
            "error_description": "introspection needs an access token of this sandbox as Authorization: Bearer (RFC 7662 section 2.1)"
        }),
        "no caller token",
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"fhirgate-sandbox\", error=\"invalid_token\"")
    );
    assert_eq!(r.header("connection"), Some("close"));
}

#[tokio::test]
async fn a_body_that_is_not_a_form_answers_415_and_a_large_one_413() {
    let gw = gateway();
    for path in ["/sandbox/auth/token", "/sandbox/auth/introspect"] {
        let body = r#"{"grant_type":"client_credentials"}"#;
        let mut stream = send_head(
            &gw,
            "POST",
            path,
            &head(&gw, path, "application/json", body.len()),
        )
        .await;
        stream.write_all(body.as_bytes()).await.expect("body");
        let r = read_response(&mut stream).await;
        assert_oauth_error(
            &r,
            415,
            json!({
                "error": "invalid_request",
                "error_description": "the request body must be application/x-www-form-urlencoded (RFC 6749 section 3.2)"
            }),
            path,
        );

        let big = format!(
            "grant_type=client_credentials&pad={}",
            "x".repeat(70 * 1024)
        );
        let mut stream = send_head(&gw, "POST", path, &head(&gw, path, FORM, big.len())).await;
        stream.write_all(big.as_bytes()).await.expect("body");
        let r = read_response(&mut stream).await;
        assert_oauth_error(
            &r,
            413,
            json!({
                "error": "invalid_request",
                "error_description": "the request body exceeds 65536 bytes"
            }),
            path,
        );
    }
}

#[tokio::test]
async fn client_errors_and_tokens_carry_no_store_and_pragma() {
    let gw = gateway();
    let url = format!("{}/sandbox/auth/token", gw.url);
    let c = support::client();
    let post = |body: &'static str| c.post(&url).header("content-type", FORM).body(body).send();

    // SMART Backend Services: a client_assertion that is no JWT is invalid_client (401).
    let r = post(
        "grant_type=client_credentials&scope=system%2F*.rs&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=not-a-jwt",
    )
    .await
    .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "client_assertion is not a JWT with a supported alg"})
    );

    // error_description keeps to printable ASCII without '"' and '\' (RFC 6749 §5.2).
    let r = post("grant_type=password&grant_type=password")
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "parameters must not repeat (RFC 6749 section 3.2)"})
    );

    // Introspection without the caller's own token: 401 invalid_token (RFC 7662 §2.3).
    let r = c
        .post(format!("{}/sandbox/auth/introspect", gw.url))
        .header("content-type", FORM)
        .body("token=x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"fhirgate-sandbox\", error=\"invalid_token\""
    );
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "invalid_token", "error_description": "introspection needs an access token of this sandbox as Authorization: Bearer (RFC 7662 section 2.1)"})
    );

    // Introspection without `token` (RFC 7662 §2.1: REQUIRED; empty counts as omitted), or
    // with a parameter sent twice (RFC 6749 §3.2): 400 invalid_request.
    let caller = gw.token("system/Patient.r");
    for (body, description) in [
        ("", "token missing (RFC 7662 section 2.1)"),
        ("token=", "token missing (RFC 7662 section 2.1)"),
        (
            "token=a&token=b",
            "parameters must not repeat (RFC 6749 section 3.2)",
        ),
    ] {
        let r = c
            .post(format!("{}/sandbox/auth/introspect", gw.url))
            .header("content-type", FORM)
            .bearer_auth(&caller)
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 400, "{body}");
        assert_eq!(r.headers()["content-type"], "application/json", "{body}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{body}");
        assert_eq!(r.headers()["pragma"], "no-cache", "{body}");
        assert_eq!(
            r.json::<Value>().await.expect("json"),
            json!({"error": "invalid_request", "error_description": description}),
            "{body}"
        );
    }

    // An introspection answer is not cached either.
    let r = c
        .post(format!("{}/sandbox/auth/introspect", gw.url))
        .header("content-type", FORM)
        .bearer_auth(gw.token("system/Patient.r"))
        .body("token=x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"active": false})
    );
}
