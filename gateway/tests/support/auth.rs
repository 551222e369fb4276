//! Helpers for the SMART authorization tests (`auth_*.rs`): a gateway on the seeded store
//! with the sandbox authorization server, tokens from `fhirgate token`, a test issuer whose
//! JWKS is served by a tiny axum server (fetches counted), and leak assertions.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{Gateway, client};

/// Seeded Synthea patient A (Buster Hoeger): the launch context of patient tokens.
pub const A: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
/// Seeded Synthea patient B (Liz Conn): whose data must never leak to A.
pub const B: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";
/// The configured audience (fixed; tokens never take it from the listening address).
pub const AUD: &str = "http://127.0.0.1:8080/fhir";
/// The sandbox issuer from the config.
pub const SANDBOX_ISS: &str = "http://127.0.0.1:8080/sandbox/auth";

/// The `auth:` section: the sandbox (patient A, clients `backend` with `backend_jwks` and
/// `app` with a redirect URI), extra `issuers` YAML items and extra top-level `extra` lines.
pub fn auth_yaml(issuers: &str, backend_jwks: &Value, extra: &str) -> String {
    let issuers = if issuers.is_empty() {
        "  issuers: []\n".to_owned()
    } else {
        format!("  issuers:\n{issuers}")
    };
    format!(
        "auth:\n  audiences: [\"{AUD}\"]\n{extra}{issuers}  sandbox:\n    enabled: true\n    issuer: {SANDBOX_ISS}\n    patient: {A}\n    clients:\n      - client_id: backend\n        scope: system/*.rs\n        jwks: {backend_jwks}\n      - client_id: app\n        scope: launch/patient openid patient/*.rs\n        redirect_uris: [\"http://localhost/cb\"]\n"
    )
}

/// A gateway on the seeded store with `auth_yaml(issuers, backend_jwks, extra)`.
pub fn start_with(issuers: &str, backend_jwks: &Value, extra: &str) -> Gateway {
    let auth = auth_yaml(issuers, backend_jwks, extra);
    Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n"
    ))
}

/// A gateway with the sandbox only.
pub fn start() -> Gateway {
    start_with("", &json!({"keys": []}), "")
}

/// `fhirgate token ARGS` against the gateway's config and data dir; panics unless exit 0.
pub fn cli_token(gw: &Gateway, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .arg("token")
        .args(args)
        .arg("--config")
        .arg(gw.dir.path().join("gateway.yaml"))
        .env("FHIRGATE_DATA_DIR", gw.dir.path().join("data"))
        .output()
        .expect("run fhirgate token");
    assert!(
        out.status.success(),
        "fhirgate token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A token for patient A with `scope`.
pub fn patient_token(gw: &Gateway, scope: &str) -> String {
    cli_token(
        gw,
        &[
            "--scope",
            &format!("launch/patient {scope}"),
            "--patient",
            A,
        ],
    )
}

/// A backend token that sees everything.
pub fn system_token(gw: &Gateway) -> String {
    cli_token(gw, &["--scope", "system/*.cruds"])
}

/// One answer: status, body text, WWW-Authenticate.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// `WWW-Authenticate`, if any.
    pub challenge: Option<String>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts nothing of patient B (nor the given B resource ids) is in the body.
    pub fn assert_no_b(&self, b_ids: &[&str]) {
        assert!(
            !self.body.contains(B),
            "patient B leaked: {}",
            &self.body[..self.body.len().min(400)]
        );
        // `Bundle.link` is left out of the id check: it echoes the caller's own query.
        let data = match serde_json::from_str::<Value>(&self.body) {
            Ok(mut v) => {
                if let Some(o) = v.as_object_mut() {
                    o.remove("link");
                }
                v.to_string()
            }
            Err(_) => self.body.clone(),
        };
        for id in b_ids {
            assert!(
                !data.contains(id),
                "B's resource {id} leaked: {}",
                &data[..data.len().min(600)]
            );
        }
    }

    /// The Bundle's `next` link, if any.
    pub fn next_link(&self) -> Option<String> {
        self.json()["link"].as_array().and_then(|links| {
            links
                .iter()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str())
                .map(str::to_owned)
        })
    }

    /// Ids of the searchset's entries of `resource_type`.
    pub fn entry_ids(&self, resource_type: &str) -> Vec<String> {
        self.json()["entry"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == resource_type)
            .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Sends `method url` with `token` (if any) and an optional JSON or form body.
pub async fn send(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> Answer {
    let mut request = client().request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    Answer {
        status,
        body,
        challenge,
    }
}

/// `GET gw/fhir{path}` with `token`.
pub async fn get(gw: &Gateway, path: &str, token: &str) -> Answer {
    send(reqwest::Method::GET, &gw.fhir(path), Some(token), None).await
}

/// `POST gw/fhir{path}` with a FHIR JSON body.
pub async fn post_json(gw: &Gateway, path: &str, token: &str, body: &Value) -> Answer {
    send(
        reqwest::Method::POST,
        &gw.fhir(path),
        Some(token),
        Some(("application/fhir+json", body.to_string())),
    )
    .await
}

/// The id of the first resource a system-token search finds.
pub async fn first_id(gw: &Gateway, search: &str) -> String {
    let answer = get(gw, search, &system_token(gw)).await;
    let ids = answer.entry_ids(
        search
            .trim_start_matches('/')
            .split('?')
            .next()
            .unwrap_or(""),
    );
    ids.first()
        .cloned()
        .unwrap_or_else(|| panic!("{search} found nothing: {}", answer.body))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// A P-256 key: signing key, public JWK (with `kid`), kid.
pub struct TestKey {
    /// Signing key.
    pub encoding: EncodingKey,
    /// Public JWK.
    pub jwk: Value,
    /// Its kid.
    pub kid: String,
}

impl TestKey {
    /// A fresh ES256 key named `kid`.
    pub fn es256(kid: &str) -> Self {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("keygen");
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).expect("key");
        let public = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65])});
        Self {
            encoding: EncodingKey::from_ec_der(doc.as_ref()),
            jwk,
            kid: kid.to_owned(),
        }
    }

    /// Signs `claims` (ES256) with header `kid` (or none).
    pub fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// An issuer whose JWKS is served at `{iss}/jwks` by an in-test axum server.
pub struct TestIssuer {
    /// Its `iss` (`http://127.0.0.1:PORT`).
    pub iss: String,
    jwks: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl TestIssuer {
    /// Starts serving an empty JWKS on 127.0.0.1:0 on the current runtime.
    pub async fn start() -> Self {
        let jwks: Arc<Mutex<Vec<Value>>> = Arc::default();
        let fetches: Arc<AtomicUsize> = Arc::default();
        let (keys, count) = (jwks.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (keys, count) = (keys.clone(), count.clone());
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    let keys = keys.lock().expect("jwks").clone();
                    axum::Json(json!({ "keys": keys }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let iss = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { iss, jwks, fetches }
    }

    /// Publishes `jwk` in the JWKS.
    pub fn publish(&self, jwk: &Value) {
        self.jwks.lock().expect("jwks").push(jwk.clone());
    }

    /// How often the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The `issuers:` YAML item trusting this issuer.
    pub fn yaml(&self) -> String {
        format!(
            "    - issuer: {}\n      jwks_uri: {}/jwks\n",
            self.iss, self.iss
        )
    }

    /// Valid access token claims for patient A with `patient/*.rs`.
    pub fn claims(&self) -> Value {
        let now = now();
        json!({"iss": self.iss, "aud": AUD, "sub": "app", "client_id": "app", "iat": now, "exp": now + 300,
            "scope": "launch/patient patient/*.rs", "patient": A})
    }
}

/// Follows `next` links from `path` with `token`: every page's match ids of `rtype`, in
/// order (each page must answer 200; more than 50 pages fails).
pub async fn pages(gw: &Gateway, rtype: &str, path: &str, token: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut url = gw.fhir(path);
    loop {
        let answer = send(reqwest::Method::GET, &url, Some(token), None).await;
        assert_eq!(answer.status, 200, "{url}: {}", answer.body);
        out.push(answer.entry_ids(rtype));
        match answer.next_link() {
            Some(next) => url = next,
            None => return out,
        }
        assert!(out.len() < 50, "{rtype}: paging does not end");
    }
}
