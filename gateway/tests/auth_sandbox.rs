//! The sandbox authorization server (SMART Backend Services, SMART App Launch 2.x standalone
//! launch, RFC 7523, RFC 7636, RFC 7662) and discovery, against the real binary.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TOKEN_URL: &str = "http://127.0.0.1:8080/sandbox/auth/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn backend() -> (support::Gateway, TestKey) {
    let key = TestKey::es256("backend-key");
    let gw = start_with("", &json!({"keys": [key.jwk.clone()]}), "");
    (gw, key)
}

fn assertion(key: &TestKey, jti: &str, aud: &str) -> String {
    let now = now();
    let claims =
        json!({"iss": "backend", "sub": "backend", "aud": aud, "exp": now + 240, "jti": jti});
    key.sign(&claims, Some(&key.kid))
}

async fn token_request(gw: &support::Gateway, form: &[(&str, &str)]) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = support::client()
        .post(format!("{}/sandbox/auth/token", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn client_credentials(gw: &support::Gateway, assertion: &str) -> (u16, Value) {
    token_request(
        gw,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs system/*.cruds"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn backend_service_gets_a_token_that_works() {
    let (gw, key) = backend();
    let (status, body) = client_credentials(&gw, &assertion(&key, "jti-1", TOKEN_URL)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["scope"], "system/*.rs",
        "granted = requested ∩ registered"
    );
    let token = body["access_token"].as_str().expect("token");
    let answer = get(&gw, "/Patient", token).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains(A) && answer.body.contains(B));
    let write = post_json(
        &gw,
        "/Observation",
        token,
        &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
    )
    .await;
    assert_eq!(write.status, 403, "system/*.rs cannot create");
}

#[tokio::test]
async fn replayed_client_assertion_is_refused() {
    let (gw, key) = backend();
    let signed = assertion(&key, "jti-replay", TOKEN_URL);
    let (first, _) = client_credentials(&gw, &signed).await;
    assert_eq!(first, 200);
    let (status, body) = client_credentials(&gw, &signed).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // The same jti in a freshly signed assertion is a replay too.
    let (status, _) = client_credentials(&gw, &assertion(&key, "jti-replay", TOKEN_URL)).await;
    assert_eq!(status, 401);
}

/// RFC 6749 §5.2: a client that tried the Authorization header gets 401 `invalid_client`
/// with `WWW-Authenticate` naming its scheme; the sandbox takes `private_key_jwt` only.
#[tokio::test]
async fn a_basic_auth_attempt_gets_401_with_www_authenticate_basic() {
    let (gw, _) = backend();
    let r = support::client()
        .post(format!("{}/sandbox/auth/token", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth("some-client", Some("secret"))
        .body("grant_type=client_credentials&scope=system%2F*.rs")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Basic realm=\"fhirgate-sandbox\""
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn client_assertion_for_another_audience_or_key_is_refused() {
    let (gw, key) = backend();
    let (status, body) = client_credentials(
        &gw,
        &assertion(&key, "a1", "http://127.0.0.1:8080/other/token"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let stranger = TestKey::es256("backend-key");
    let (status, _) = client_credentials(&gw, &assertion(&stranger, "a2", TOKEN_URL)).await;
    assert_eq!(status, 401);
    let (status, body) = token_request(
        &gw,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = token_request(&gw, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

fn pkce() -> (String, String) {
    let verifier = format!("verifier-{}", uuid_like());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn uuid_like() -> String {
    format!("{:x}{:x}", now(), std::process::id()) + "-0123456789abcdefghijklmnopqrstuvwxyz"
}

async fn authorize(gw: &support::Gateway, challenge: &str) -> String {
    let url = format!(
        "{}/sandbox/auth/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&scope=launch%2Fpatient+patient%2F*.rs&state=xyz&aud={}&code_challenge={challenge}&code_challenge_method=S256",
        gw.url,
        form_urlencoded::byte_serialize(AUD.as_bytes()).collect::<String>()
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client.get(url).send().await.expect("authorize");
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(location.starts_with("http://localhost/cb?"), "{location}");
    assert!(location.contains("state=xyz"));
    let parsed = url::Url::parse(&location).expect("url");
    parsed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code: {location}"))
}

#[tokio::test]
async fn standalone_patient_launch_with_pkce() {
    let gw = start();
    let (verifier, challenge) = pkce();
    let code = authorize(&gw, &challenge).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "app"),
        ("redirect_uri", "http://localhost/cb"),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = token_request(&gw, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["patient"], A);
    let token = body["access_token"].as_str().expect("token");
    let answer = get(&gw, "/Observation", token).await;
    assert_eq!(answer.status, 200);
    answer.assert_no_b(&[]);
    let (status, body) = token_request(&gw, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a code is used once"
    );
}

#[tokio::test]
async fn wrong_code_verifier_is_refused() {
    let gw = start();
    let (_, challenge) = pkce();
    let code = authorize(&gw, &challenge).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "app"),
        ("redirect_uri", "http://localhost/cb"),
        (
            "code_verifier",
            "not-the-verifier-0123456789abcdefghijklmnopq",
        ),
    ];
    let (status, body) = token_request(&gw, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn authorize_refuses_plain_pkce_and_unregistered_redirects() {
    let gw = start();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = format!(
        "{}/sandbox/auth/authorize?response_type=code&client_id=app&scope=patient%2F*.rs&aud={AUD}",
        gw.url
    );
    let evil = client.get(format!("{base}&redirect_uri=http%3A%2F%2Fevil.example%2Fcb&code_challenge_method=S256&code_challenge=x")).send().await.expect("send");
    assert_eq!(
        evil.status().as_u16(),
        400,
        "no redirect to an unregistered URI"
    );
    let plain = client.get(format!("{base}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&code_challenge_method=plain&code_challenge=abc")).send().await.expect("send");
    assert_eq!(plain.status().as_u16(), 302);
    assert!(
        plain.headers()["location"]
            .to_str()
            .expect("location")
            .contains("error=invalid_request")
    );
}

#[tokio::test]
async fn introspection_answers_active_only_for_valid_tokens() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let caller = format!("Bearer {}", patient_token(&gw, "patient/Patient.r"));
    let introspect = |t: String| {
        let url = format!("{}/sandbox/auth/introspect", gw.url);
        let caller = caller.clone();
        async move {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &t)
                .finish();
            let r = support::client()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", caller)
                .body(body)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    let active = introspect(token.clone()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["patient"], A);
    assert_eq!(active["client_id"], "fhirgate-cli");
    assert_eq!(introspect("garbage".into()).await, json!({"active": false}));
    let mut tampered = token.clone();
    tampered.pop();
    assert_eq!(introspect(tampered.clone()).await, json!({"active": false}));
    // RFC 7662 §2.1: no caller token, or an invalid one, is refused before the token is read.
    for auth in [
        None,
        Some("Bearer garbage".to_owned()),
        Some(format!("Bearer {tampered}")),
    ] {
        let mut request = support::client()
            .post(format!("{}/sandbox/auth/introspect", gw.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let r = request.send().await.expect("send");
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"fhirgate-sandbox\", error=\"invalid_token\""
        );
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"], "invalid_token");
    }
}

#[tokio::test]
async fn jwks_and_key_survive_a_restart() {
    let gw = start();
    let jwks: Value = support::client()
        .get(format!("{}/sandbox/auth/jwks", gw.url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let kid = jwks["keys"][0]["kid"].as_str().expect("kid").to_owned();
    assert_eq!(jwks["keys"][0]["alg"], "ES384");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
    let key_file = gw.dir.path().join("data/sandbox-auth-es384.pk8");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = patient_token(&gw, "patient/*.rs");
    let config = std::fs::read_to_string(gw.dir.path().join("gateway.yaml")).expect("config");
    let dir = gw.kill();
    let again = support::Gateway::start_in(&config, dir);
    let jwks2: Value = support::client()
        .get(format!("{}/sandbox/auth/jwks", again.url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks2["keys"][0]["kid"], kid.as_str());
    assert_eq!(
        get(&again, "/Observation?_count=1", &token).await.status,
        200,
        "old tokens stay valid"
    );
}

#[tokio::test]
async fn discovery_and_metadata_need_no_token() {
    let gw = start();
    let doc: Value = support::client()
        .get(gw.fhir("/.well-known/smart-configuration"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["issuer"], SANDBOX_ISS);
    assert_eq!(doc["token_endpoint"], TOKEN_URL);
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    for key in [
        "jwks_uri",
        "authorization_endpoint",
        "introspection_endpoint",
        "capabilities",
        "scopes_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
    ] {
        assert!(doc.get(key).is_some(), "{key}");
    }
    let metadata = support::client()
        .get(gw.fhir("/metadata"))
        .send()
        .await
        .expect("send");
    assert_eq!(metadata.status().as_u16(), 200);
    let body = metadata.text().await.expect("body");
    assert!(
        body.contains("oauth-uris") && body.contains(TOKEN_URL),
        "{body}"
    );
}

#[tokio::test]
async fn token_command_exits_2_when_the_sandbox_is_disabled() {
    let dir = std::env::temp_dir().join(format!("fhirgate-auth-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("gateway.yaml");
    std::fs::write(&config, "adapters:\n  store:\n    kind: store\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["token", "--scope", "system/*.rs", "--config"])
        .arg(&config)
        .env("FHIRGATE_DATA_DIR", dir.join("data"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn token_command_prints_one_jwt_with_config_iss_and_aud() {
    let gw = start();
    let token = cli_token(
        &gw,
        &["--scope", "patient/*.rs", "--patient", A, "--ttl", "120"],
    );
    assert_eq!(token.lines().count(), 1);
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).expect("claims");
    assert_eq!(claims["iss"], SANDBOX_ISS);
    assert_eq!(claims["aud"], AUD);
    assert_eq!(claims["client_id"], "fhirgate-cli");
    assert_eq!(
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"),
        120
    );
}

#[test]
fn smart_fixture_jwks_parse_and_the_malformed_discovery_does_not() {
    for file in [
        "smart/jwks-public-RS384.json",
        "smart/jwks-public-ES384.json",
    ] {
        let doc: Value = serde_json::from_slice(&support::fixture(file)).expect("JSON");
        assert_eq!(
            fhirgate::auth::jwks::KeySet::from_json(&doc).len(),
            1,
            "{file}"
        );
    }
    let good: Value = serde_json::from_slice(&support::fixture(
        "smart/smart-configuration-sample-ehr.example.com.json",
    ))
    .expect("JSON");
    assert!(good["jwks_uri"].is_string());
    assert!(
        serde_json::from_slice::<Value>(&support::fixture(
            "smart/smart-configuration-backend-services-MALFORMED-trailing-commas.json"
        ))
        .is_err()
    );
}

#[tokio::test]
async fn oversized_token_request_is_refused() {
    let gw = start();
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "x".repeat(200 * 1024)
    );
    let response = support::client()
        .post(format!("{}/sandbox/auth/token", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 413);
}
