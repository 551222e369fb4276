//! The `fhir` adapter's OAuth2 client credentials against a real authorization server
//! (oidc-provider in `tests/peers/`): `client_secret_basic` and `private_key_jwt` (RS384,
//! ES384), token reuse without stampede, refresh and retry after an upstream 401.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use fhirgate_adapters::{Adapter, AdapterError};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::peers::{Peer, peers_dir};
use support::recorder::{Canned, Recorder};
use support::{adapter, request};

struct AuthServer {
    _peer: Peer,
    issuer: String,
    secret: String,
    /// PEM private keys by algorithm.
    rs384: String,
    es384: String,
}

fn keygen(alg: &str, kid: &str) -> (String, Value) {
    support::peers::ensure_npm_packages();
    let out = std::process::Command::new("node")
        .args(["keygen.mjs", alg, kid])
        .current_dir(peers_dir())
        .output()
        .expect("node keygen");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("keygen JSON");
    (
        v["private_pem"].as_str().expect("pem").to_owned(),
        v["jwks"]["keys"][0].clone(),
    )
}

fn auth_server() -> AuthServer {
    auth_server_with_ttl(600)
}

fn auth_server_with_ttl(ttl_seconds: u32) -> AuthServer {
    let (rs384, rs_jwk) = keygen("RS384", "rs-1");
    let (es384, es_jwk) = keygen("ES384", "es-1");
    let jwks = json!({"keys": [rs_jwk, es_jwk]}).to_string();
    let secret = uuid::Uuid::new_v4().to_string();
    let peer = Peer::spawn(
        "oidc-server.mjs",
        &[],
        &[
            ("OIDC_BASIC_SECRET", secret.as_str()),
            ("OIDC_JWKS", jwks.as_str()),
            ("OIDC_TTL", ttl_seconds.to_string().as_str()),
        ],
    );
    AuthServer {
        issuer: peer.ready_line.clone(),
        _peer: peer,
        secret,
        rs384,
        es384,
    }
}

impl AuthServer {
    fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// RFC 7662 introspection of `token`, authenticated as the basic client.
    async fn introspect(&self, token: &str) -> Value {
        reqwest::Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth("fhirgate-basic", Some(&self.secret))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspection answers")
            .json()
            .await
            .expect("introspection JSON")
    }
}

fn bearer(r: &support::recorder::Recorded) -> String {
    r.header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("bearer token")
        .to_owned()
}

async fn ok_upstream() -> Recorder {
    Recorder::start(|_| Canned::json(200, &json!({"resourceType": "Patient", "id": "1"}))).await
}

#[tokio::test]
async fn client_secret_basic_token_is_sent_and_reused() {
    let auth = auth_server();
    let secret_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fhir-secret-{}", uuid::Uuid::new_v4()));
    std::fs::write(&secret_file, format!("{}\n", auth.secret)).expect("write secret");
    let up = ok_upstream().await;
    let a = Arc::new(adapter(json!({"base_url": up.base, "auth": {
        "method": "client_secret_basic", "token_url": auth.token_url(),
        "client_id": "fhirgate-basic", "client_secret_file": secret_file, "scope": "system/*.rs"}})));
    // Concurrent first requests share one token fetch (single flight)...
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { a.handle(request(Method::GET, "Patient/1")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.expect("task").expect("answer").status,
            StatusCode::OK
        );
    }
    // ...and later requests reuse it.
    for _ in 0..3 {
        let resp = a
            .handle(request(Method::GET, "Patient/1"))
            .await
            .expect("answer");
        assert_eq!(resp.status, StatusCode::OK);
    }
    let tokens: BTreeSet<String> = up.requests().iter().map(bearer).collect();
    assert_eq!(up.requests().len(), 11);
    assert_eq!(tokens.len(), 1, "one token for all requests");
    let token = tokens.into_iter().next().expect("token");
    let info = auth.introspect(&token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], "fhirgate-basic");
    assert_eq!(info["scope"], "system/*.rs");
    let _ = std::fs::remove_file(secret_file);
}

#[tokio::test]
async fn private_key_jwt_rs384_and_es384() {
    let auth = auth_server();
    for (alg, kid, pem) in [
        ("RS384", "rs-1", &auth.rs384),
        ("ES384", "es-1", &auth.es384),
    ] {
        let up = ok_upstream().await;
        let a = adapter(json!({"base_url": up.base, "auth": {
            "method": "private_key_jwt", "token_url": auth.token_url(), "client_id": "fhirgate-jwt",
            "private_key": pem, "key_id": kid, "algorithm": alg, "scope": "system/*.cruds"}}));
        for _ in 0..2 {
            let resp = a
                .handle(request(Method::GET, "Patient/1"))
                .await
                .expect("answer");
            assert_eq!(resp.status, StatusCode::OK, "{alg}");
        }
        let seen = up.requests();
        assert_eq!(bearer(&seen[0]), bearer(&seen[1]), "{alg}: token reused");
        let info = auth.introspect(&bearer(&seen[0])).await;
        assert_eq!(info["active"], true, "{alg}: {info}");
        assert_eq!(info["client_id"], "fhirgate-jwt");
        assert_eq!(info["scope"], "system/*.cruds");
    }
}

#[tokio::test]
async fn upstream_401_refreshes_the_token_once_and_retries() {
    let auth = auth_server();
    // The upstream refuses the first token it sees (as if revoked), accepts later ones.
    let refused: Arc<Mutex<Option<String>>> = Arc::default();
    let r = refused.clone();
    let up = Recorder::start(move |req| {
        let token = bearer(req);
        let mut refused = r.lock().expect("refused");
        if refused.get_or_insert_with(|| token.clone()) == &token {
            Canned::json(401, &json!({"resourceType": "OperationOutcome"}))
        } else {
            Canned::json(200, &json!({"resourceType": "Patient", "id": "1"}))
        }
    })
    .await;
    let a = adapter(json!({"base_url": up.base, "auth": {
        "method": "client_secret_basic", "token_url": auth.token_url(),
        "client_id": "fhirgate-basic", "client_secret": auth.secret}}));
    let mut put = request(Method::PUT, "Patient/1");
    put.body = br#"{"resourceType":"Patient","id":"1"}"#.to_vec().into();
    let resp = a.handle(put).await.expect("answer");
    assert_eq!(resp.status, StatusCode::OK);
    let seen = up.requests();
    assert_eq!(seen.len(), 2, "one retry");
    assert_ne!(bearer(&seen[0]), bearer(&seen[1]));
    assert_eq!(
        seen[1].body, br#"{"resourceType":"Patient","id":"1"}"#,
        "body replayed"
    );
    // The refreshed token is cached for the next request.
    let resp = a
        .handle(request(Method::GET, "Patient/1"))
        .await
        .expect("answer");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(bearer(&up.requests()[2]), bearer(&seen[1]));

    // An upstream that refuses every token: one retry, then a 502: our
    // credentials are at fault, not the client's.
    let always =
        Recorder::start(|_| Canned::json(401, &json!({"resourceType": "OperationOutcome"}))).await;
    let b = adapter(json!({"base_url": always.base, "auth": {
        "method": "client_secret_basic", "token_url": auth.token_url(),
        "client_id": "fhirgate-basic", "client_secret": auth.secret}}));
    let err = b
        .handle(request(Method::GET, "Patient/1"))
        .await
        .expect_err("refused twice");
    assert!(matches!(err, AdapterError::BadGateway { .. }), "{err:?}");
    assert_eq!(always.requests().len(), 2);
}

#[tokio::test]
async fn refused_client_is_bad_gateway() {
    let auth = auth_server();
    let up = ok_upstream().await;
    let a = adapter(json!({"base_url": up.base, "auth": {
        "method": "client_secret_basic", "token_url": auth.token_url(),
        "client_id": "fhirgate-basic", "client_secret": "wrong"}}));
    let err = a
        .handle(request(Method::GET, "Patient/1"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, AdapterError::BadGateway { detail, .. } if detail.contains("invalid_client")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong"), "no secret in errors");
    assert!(up.requests().is_empty(), "nothing sent without a token");
}

#[tokio::test]
async fn token_is_replaced_shortly_before_expiry() {
    let auth = auth_server_with_ttl(2);
    let up = ok_upstream().await;
    let a = adapter(json!({"base_url": up.base, "auth": {
        "method": "client_secret_basic", "token_url": auth.token_url(),
        "client_id": "fhirgate-basic", "client_secret": auth.secret}}));
    a.handle(request(Method::GET, "Patient/1"))
        .await
        .expect("answer");
    a.handle(request(Method::GET, "Patient/1"))
        .await
        .expect("answer");
    // expires_in 2 s: refreshed 0.2 s before expiry.
    tokio::time::sleep(std::time::Duration::from_millis(1900)).await;
    a.handle(request(Method::GET, "Patient/1"))
        .await
        .expect("answer");
    let seen = up.requests();
    assert_eq!(bearer(&seen[0]), bearer(&seen[1]));
    assert_ne!(bearer(&seen[1]), bearer(&seen[2]));
    assert_eq!(auth.introspect(&bearer(&seen[2])).await["active"], true);
}
