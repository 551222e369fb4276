//! The sandbox authorization server under `/sandbox/auth/` (SMART App Launch 2.x, SMART
//! Backend Services): `jwks`, `token` (client_credentials + private_key_jwt, and
//! authorization_code + PKCE S256), `authorize` (auto-approving standalone patient launch)
//! and `introspect` (RFC 7662). Its issuer is trusted by the gateway's validator through
//! the same code path as any other issuer, with its key held locally.

mod assertion;
mod authorize;
mod endpoints;
mod form;
pub mod keys;
mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use moka::sync::Cache;
use serde_json::{Value, json};

pub use endpoints::router;
pub use keys::{KEY_FILE, SandboxKey};

use super::config::{AuthConfig, SandboxConfig};
use super::jwks::KeySet;
use super::validate::now;

/// What one access token says (SMART App Launch 2.x §4; RFC 9068 §2.2).
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// `client_id` (and `sub` when there is no `fhir_user`).
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// `patient` launch context.
    pub patient: Option<String>,
    /// `fhirUser`, e.g. `Practitioner/1`.
    pub fhir_user: Option<String>,
    /// Lifetime in seconds.
    pub ttl: u64,
}

/// Signs an access token with the sandbox key: `iss` = the sandbox issuer, `aud` = the first
/// configured audience, `typ` = `at+jwt` (RFC 9068 §2.1).
pub fn mint(
    key: &SandboxKey,
    issuer: &str,
    audience: &str,
    request: &TokenRequest,
) -> Result<String, jsonwebtoken::errors::Error> {
    let iat = now();
    let mut header = Header::new(Algorithm::ES384);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid.clone());
    let mut claims = json!({
        "iss": issuer,
        "aud": audience,
        "sub": request.fhir_user.clone().unwrap_or_else(|| request.client_id.clone()),
        "client_id": request.client_id,
        "scope": request.scope,
        "iat": iat,
        "exp": iat + request.ttl,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(p) = &request.patient {
        claims["patient"] = Value::String(p.clone());
    }
    if let Some(u) = &request.fhir_user {
        claims["fhirUser"] = Value::String(u.clone());
    }
    jsonwebtoken::encode(&header, &claims, &key.encoding)
}

/// A pending authorization code (RFC 6749 §4.1.2; RFC 7636 §4.4).
#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    redirect_uri: String,
    scope: String,
    code_challenge: String,
}

/// A registered client with its parsed keys.
struct Client {
    scope: Vec<String>,
    keys: KeySet,
    redirect_uris: Vec<String>,
}

/// The running sandbox.
pub struct Sandbox {
    config: SandboxConfig,
    key: Arc<SandboxKey>,
    audience: String,
    audiences: Vec<String>,
    leeway: u64,
    clients: HashMap<String, Client>,
    seen_jti: Cache<String, ()>,
    codes: Cache<String, Code>,
}

impl Sandbox {
    /// Builds the sandbox from config with its loaded key (reads client JWKS files).
    pub fn build(auth: &AuthConfig, key: Arc<SandboxKey>) -> Result<Self, String> {
        let mut clients = HashMap::new();
        for (i, c) in auth.sandbox.clients.iter().enumerate() {
            let jwks = match (&c.jwks, &c.jwks_file) {
                (Some(v), _) => v.clone(),
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("auth.sandbox.clients[{i}].jwks_file: {e}"))?;
                    serde_json::from_str(&text)
                        .map_err(|e| format!("auth.sandbox.clients[{i}].jwks_file: {e}"))?
                }
                (None, None) => json!({"keys": []}),
            };
            clients.insert(
                c.client_id.clone(),
                Client {
                    scope: c
                        .scope
                        .split_ascii_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    keys: KeySet::from_json(&jwks),
                    redirect_uris: c.redirect_uris.clone(),
                },
            );
        }
        let lifetime = Duration::from_secs(600 + auth.leeway_seconds);
        Ok(Self {
            config: auth.sandbox.clone(),
            key,
            audience: auth.audiences.first().cloned().unwrap_or_default(),
            audiences: auth.audiences.clone(),
            leeway: auth.leeway_seconds,
            clients,
            // Assertions live at most 5 minutes (SMART Backend Services §4.2.2, enforced in
            // `assertion`), so keeping a jti for 10 min + leeway outlives every replay.
            seen_jti: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(lifetime)
                .build(),
            codes: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        })
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        self.config.issuer.trim_end_matches('/')
    }

    /// The token endpoint URL (the `aud` client assertions must carry).
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer())
    }

    /// The signing key.
    pub fn key(&self) -> &SandboxKey {
        &self.key
    }

    /// The granted scopes: requested ∩ registered (exact strings), in request order.
    fn grant(&self, client: &Client, requested: &str) -> String {
        requested
            .split_ascii_whitespace()
            .filter(|s| client.scope.iter().any(|c| c == s))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn issue(&self, request: &TokenRequest) -> Result<String, jsonwebtoken::errors::Error> {
        mint(&self.key, self.issuer(), &self.audience, request)
    }
}
