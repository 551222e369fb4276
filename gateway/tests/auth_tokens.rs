//! Token validation attacks against the real binary (SMART App Launch 2.x, RFC 7519 §7.2,
//! RFC 6750 §3.1): each forged or misused token is refused with 401 and
//! `WWW-Authenticate: Bearer error="invalid_token"`, and nothing of a patient is returned.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const OBS: &str = "/Observation?_count=5";

struct Setup {
    gw: support::Gateway,
    issuer: TestIssuer,
    key: TestKey,
}

/// A gateway trusting a test issuer (ES256 key `k1` published), refetch interval `refetch`.
async fn setup(refetch: u64) -> Setup {
    let issuer = TestIssuer::start().await;
    let key = TestKey::es256("k1");
    issuer.publish(&key.jwk);
    let gw = start_with(
        &issuer.yaml(),
        &json!({"keys": []}),
        &format!("  jwks_refetch_seconds: {refetch}\n"),
    );
    Setup { gw, issuer, key }
}

async fn refused(s: &Setup, token: &str) -> Answer {
    let answer = get(&s.gw, OBS, token).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    let challenge = answer.challenge.clone().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(challenge.contains("error_description="), "{challenge}");
    assert_eq!(answer.json()["issue"][0]["code"], "login");
    assert!(!answer.body.contains(A) && !answer.body.contains(B));
    answer
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_token_of_a_configured_issuer_is_accepted() {
    let s = setup(60).await;
    let answer = get(&s.gw, OBS, &s.key.sign(&s.issuer.claims(), Some("k1"))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!answer.entry_ids("Observation").is_empty());
    answer.assert_no_b(&[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_401_without_error_code() {
    let s = setup(60).await;
    let answer = support_send(&s.gw.fhir(OBS), None).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some("Bearer realm=\"fhirgate\"")
    );
    assert_eq!(answer.json()["issue"][0]["code"], "login");
}

async fn support_send(url: &str, authorization: Option<&str>) -> Answer {
    let mut r = support::client().get(url);
    if let Some(a) = authorization {
        r = r.header("authorization", a);
    }
    let response = r.send().await.expect("send");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Answer {
        status,
        challenge,
        body: response.text().await.expect("body"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_is_refused() {
    let s = setup(60).await;
    let token = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
        b64(&s.issuer.claims())
    );
    refused(&s, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let s = setup(60).await;
    // Publish the SMART IG's RS384 public key, then sign HS256 with its bytes as the secret.
    let rsa: Value =
        serde_json::from_slice(&support::fixture("smart/jwks-public-RS384.json")).expect("jwks");
    let mut jwk = rsa["keys"][0].clone();
    jwk["kid"] = json!("rsa");
    s.issuer.publish(&jwk);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("rsa".into());
    let secret = jwk.to_string();
    let token = jsonwebtoken::encode(
        &header,
        &s.issuer.claims(),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).expect("key"),
    )
    .expect("sign");
    refused(&s, &token).await;
    let n = jwk["n"].as_str().expect("n").to_owned();
    let token = jsonwebtoken::encode(
        &header,
        &s.issuer.claims(),
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()).expect("key"),
    )
    .expect("sign");
    refused(&s, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refused() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["exp"] = json!(now() - 120);
    claims["iat"] = json!(now() - 600);
    let answer = refused(&s, &s.key.sign(&claims, Some("k1"))).await;
    assert!(answer.challenge.unwrap_or_default().contains("expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nbf_in_the_future_is_refused() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["nbf"] = json!(now() + 600);
    refused(&s, &s.key.sign(&claims, Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iat_in_the_future_is_refused() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["iat"] = json!(now() + 600);
    claims["exp"] = json!(now() + 900);
    refused(&s, &s.key.sign(&claims, Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_issuer_is_refused() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["iss"] = json!("http://127.0.0.1:1/not-configured");
    refused(&s, &s.key.sign(&claims, Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_audience_is_refused() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["aud"] = json!("http://127.0.0.1:9999/fhir");
    refused(&s, &s.key.sign(&claims, Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_is_not_taken_from_the_host_header() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["aud"] = json!("http://evil.example/fhir");
    let token = s.key.sign(&claims, Some("k1"));
    let response = support::client()
        .get(s.gw.fhir(OBS))
        .bearer_auth(&token)
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_array_naming_the_configured_audience_is_accepted() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims["aud"] = json!(["https://other.example", AUD]);
    let answer = get(&s.gw, OBS, &s.key.sign(&claims, Some("k1"))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_kid_is_refused() {
    let s = setup(60).await;
    refused(&s, &s.key.sign(&s.issuer.claims(), None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_payload_is_refused() {
    let s = setup(60).await;
    let token = s.key.sign(&s.issuer.claims(), Some("k1"));
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = s.issuer.claims();
    claims["patient"] = json!(B);
    let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let answer = refused(&s, &forged).await;
    assert!(answer.challenge.unwrap_or_default().contains("signature"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signed_by_an_unpublished_key_with_a_known_kid_is_refused() {
    let s = setup(60).await;
    let attacker = TestKey::es256("k1");
    refused(&s, &attacker.sign(&s.issuer.claims(), Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_presented_as_access_token_is_refused() {
    let s = setup(60).await;
    let now = now();
    // An OpenID Connect ID token: nonce, no scope. Refused even with a configured aud.
    let id_token = json!({"iss": s.issuer.iss, "aud": AUD, "sub": "u1", "iat": now, "exp": now + 300,
        "nonce": "n-0S6_WzA2Mj", "auth_time": now, "fhirUser": "Patient/".to_owned() + A});
    refused(&s, &s.key.sign(&id_token, Some("k1"))).await;
    // The usual shape: aud = the client id.
    let mut with_client_aud = id_token.clone();
    with_client_aud["aud"] = json!("app");
    refused(&s, &s.key.sign(&with_client_aud, Some("k1"))).await;
    // Even with a scope claim, a nonce marks an ID token.
    let mut with_scope = id_token;
    with_scope["scope"] = json!("patient/*.rs");
    refused(&s, &s.key.sign(&with_scope, Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_is_accepted_after_rotation_with_one_refetch() {
    let s = setup(1).await;
    let first = get(&s.gw, OBS, &s.key.sign(&s.issuer.claims(), Some("k1"))).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(s.issuer.fetches(), 1);
    let rotated = TestKey::es256("k2");
    s.issuer.publish(&rotated.jwk);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let answer = get(&s.gw, OBS, &rotated.sign(&s.issuer.claims(), Some("k2"))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(s.issuer.fetches(), 2, "one refetch for the new kid");
    // Steady state: no more fetches, the old key still works.
    let again = get(&s.gw, OBS, &s.key.sign(&s.issuer.claims(), Some("k1"))).await;
    assert_eq!(again.status, 200);
    assert_eq!(s.issuer.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bogus_kid_flood_causes_at_most_one_fetch_per_interval() {
    let s = setup(3600).await;
    let ok = get(&s.gw, OBS, &s.key.sign(&s.issuer.claims(), Some("k1"))).await;
    assert_eq!(ok.status, 200);
    let flood = (0..60).map(|i| {
        let token = s.key.sign(&s.issuer.claims(), Some(&format!("bogus-{i}")));
        let url = s.gw.fhir(OBS);
        async move {
            support_send(&url, Some(&format!("Bearer {token}")))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(flood).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(s.issuer.fetches(), 1, "no refetch within the interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_authorization_headers_are_refused() {
    let s = setup(60).await;
    for header in [
        "Bearer",
        "Bearer ",
        "Bearer not.a.jwt",
        "Bearer a.b",
        "Basic dXNlcjpwYXNz",
    ] {
        let answer = support_send(&s.gw.fhir(OBS), Some(header)).await;
        assert_eq!(answer.status, 401, "{header}");
    }
    // Two Authorization headers, even with a valid token: invalid_token, said so.
    let token = s.key.sign(&s.issuer.claims(), Some("k1"));
    let response = support::client()
        .get(s.gw.fhir(OBS))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body = response.text().await.expect("body");
    assert!(
        body.contains("more than one Authorization header"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_scope_claim_is_refused() {
    let s = setup(60).await;
    let mut claims = s.issuer.claims();
    claims.as_object_mut().expect("object").remove("scope");
    refused(&s, &s.key.sign(&claims, Some("k1"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jku_and_embedded_jwk_headers_are_ignored() {
    let s = setup(60).await;
    let attacker = TestIssuer::start().await;
    let evil = TestKey::es256("evil");
    attacker.publish(&evil.jwk);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("evil".into());
    header.jku = Some(format!("{}/jwks", attacker.iss));
    header.jwk = Some(serde_json::from_value(evil.jwk.clone()).expect("jwk"));
    let token = jsonwebtoken::encode(&header, &s.issuer.claims(), &evil.encoding).expect("sign");
    refused(&s, &token).await;
    assert_eq!(
        attacker.fetches(),
        0,
        "a jku in the token is never followed"
    );
}
