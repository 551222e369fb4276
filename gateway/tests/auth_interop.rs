//! Interop with a real third-party authorization server: `oidc-provider` 9.x (tests/peers/
//! oidc-server.mjs) mints SMART access tokens (RS256/ES256 JWTs or opaque) through
//! client_credentials + private_key_jwt; fhirgate accepts them only when that issuer is
//! configured (JWKS discovered via openid-configuration), and opaque ones via RFC 7662.

#[allow(dead_code)] // shared with the adapters tests; this binary uses part of it
#[path = "../../adapters/tests/support/peers.rs"]
mod auth_peers;
#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_peers::Peer;
use auth_support::*;
use serde_json::{Value, json};

const SECRET: &str = "interop-secret-0123456789";

struct Provider {
    peer: Peer,
    issuer: String,
    client_key: TestKey,
}

fn provider(alg: &str, format: &str) -> Provider {
    let client_key = TestKey::es256("client-key");
    let jwks = json!({"keys": [client_key.jwk.clone()]}).to_string();
    let peer = Peer::spawn(
        "oidc-server.mjs",
        &[],
        &[
            ("OIDC_RESOURCE", AUD),
            ("OIDC_BASIC_SECRET", SECRET),
            ("OIDC_PATIENT", A),
            ("OIDC_TOKEN_ALG", alg),
            ("TOKEN_FORMAT", format),
            ("OIDC_JWKS", &jwks),
        ],
    );
    let issuer = peer.ready_line.clone();
    Provider {
        peer,
        issuer,
        client_key,
    }
}

/// client_credentials with a private_key_jwt assertion (RFC 7523 §2.2) as `fhirgate-jwt`.
async fn mint(p: &Provider, scope: &str) -> String {
    let now = now();
    let claims = json!({"iss": "fhirgate-jwt", "sub": "fhirgate-jwt", "aud": format!("{}/token", p.issuer), "exp": now + 60, "iat": now,
        "jti": format!("{now}-{}-{scope}", p.issuer)});
    let assertion = p.client_key.sign(&claims, Some("client-key"));
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("scope", scope)
        .append_pair(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        .append_pair("client_assertion", &assertion)
        .finish();
    let response = support::client()
        .post(format!("{}/token", p.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    let json: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{json} {:?}", p.peer.stderr_lines());
    json["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

fn issuer_yaml(p: &Provider, introspection_secret: Option<&str>) -> String {
    let mut yaml = format!("    - issuer: {}\n", p.issuer);
    if let Some(secret) = introspection_secret {
        yaml.push_str(&format!(
            "      introspection:\n        endpoint: {}/token/introspection\n        client_id: fhirgate-basic\n        client_secret: {secret}\n",
            p.issuer
        ));
    }
    yaml
}

async fn accepted_for_patient_a(gw: &support::Gateway, token: &str) {
    let answer = get(gw, "/Observation?_count=50", token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains(A));
    answer.assert_no_b(&[]);
    assert_eq!(get(gw, &format!("/Patient/{B}"), token).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_access_token_is_accepted_when_the_issuer_is_configured() {
    let p = provider("RS256", "jwt");
    let token = mint(&p, "launch/patient patient/*.rs").await;
    assert_eq!(
        jsonwebtoken::decode_header(&token).expect("jwt").alg,
        jsonwebtoken::Algorithm::RS256
    );
    let gw = start_with(&issuer_yaml(&p, None), &json!({"keys": []}), "");
    accepted_for_patient_a(&gw, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_access_token_is_accepted_when_the_issuer_is_configured() {
    let p = provider("ES256", "jwt");
    let token = mint(&p, "launch/patient patient/*.rs").await;
    assert_eq!(
        jsonwebtoken::decode_header(&token).expect("jwt").alg,
        jsonwebtoken::Algorithm::ES256
    );
    let gw = start_with(&issuer_yaml(&p, None), &json!({"keys": []}), "");
    accepted_for_patient_a(&gw, &token).await;
    let system = mint(&p, "system/*.rs").await;
    let all = get(&gw, "/Patient", &system).await;
    assert_eq!(all.status, 200);
    assert!(all.body.contains(B), "system scope sees every patient");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_tokens_are_refused_when_the_issuer_is_not_configured() {
    let p = provider("RS256", "jwt");
    let token = mint(&p, "launch/patient patient/*.rs").await;
    let gw = start();
    let answer = get(&gw, "/Observation", &token).await;
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .challenge
            .unwrap_or_default()
            .contains("invalid_token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_token_is_accepted_through_introspection() {
    let p = provider("RS256", "opaque");
    let token = mint(&p, "launch/patient patient/*.rs").await;
    assert_eq!(token.split('.').count(), 1, "opaque: {token}");
    let gw = start_with(&issuer_yaml(&p, Some(SECRET)), &json!({"keys": []}), "");
    accepted_for_patient_a(&gw, &token).await;
    let bogus = get(
        &gw,
        "/Observation",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    assert_eq!(bogus.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_token_is_refused_when_introspection_credentials_are_wrong() {
    let p = provider("RS256", "opaque");
    let token = mint(&p, "launch/patient patient/*.rs").await;
    let gw = start_with(
        &issuer_yaml(&p, Some("wrong-secret")),
        &json!({"keys": []}),
        "",
    );
    let answer = get(&gw, "/Observation", &token).await;
    assert_eq!(answer.status, 401);
    answer.assert_no_b(&[]);
}
