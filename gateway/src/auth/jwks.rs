//! Issuer signing keys (RFC 7517 JWK Sets): a static set (the sandbox) or one fetched from a
//! `jwks_uri` (configured or discovered), cached, refetched when stale, and refetched at most
//! once per `auth.jwks_refetch_seconds` when a token names an unknown `kid`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::error::AuthError;

/// Largest JWKS or discovery document accepted, in bytes.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// One usable public key.
#[derive(Clone)]
pub struct Key {
    /// The verification key.
    pub key: DecodingKey,
    /// The `alg` the JWK is restricted to, if it names one.
    pub alg: Option<Algorithm>,
}

/// Verification keys by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Key>,
}

impl KeySet {
    /// Parses a JWK Set document (RFC 7517 §5). Keys that are not asymmetric signature
    /// keys (`oct`, `use: enc`, unparsable) are skipped, never an error; keys without a
    /// `kid` are skipped too (fhirgate requires `kid` in tokens).
    pub fn from_json(doc: &serde_json::Value) -> Self {
        let mut keys = HashMap::new();
        let entries = doc
            .get("keys")
            .and_then(|k| k.as_array())
            .cloned()
            .unwrap_or_default();
        for entry in entries {
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
                continue;
            };
            if !matches!(
                jwk.algorithm,
                AlgorithmParameters::RSA(_)
                    | AlgorithmParameters::EllipticCurve(_)
                    | AlgorithmParameters::OctetKeyPair(_)
            ) || matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption))
            {
                continue;
            }
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(&jwk))
            else {
                continue;
            };
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            keys.insert(kid, Key { key, alg });
        }
        Self { keys }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<Key> {
        self.keys.get(kid).cloned()
    }
}

/// Where an issuer's keys come from.
pub enum Source {
    /// Keys held in memory (the sandbox's own key).
    Static(KeySet),
    /// Keys fetched over HTTP.
    Remote {
        /// The issuer URL (for discovery).
        issuer: String,
        /// The configured `jwks_uri`; `None` = discover.
        jwks_uri: Option<String>,
    },
}

#[derive(Default)]
struct Fetched {
    keys: Arc<KeySet>,
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
}

/// An issuer's keys with its fetch state.
pub struct IssuerKeys {
    source: Source,
    http: reqwest::Client,
    fetched: RwLock<Fetched>,
    fetch_lock: tokio::sync::Mutex<()>,
    refetch_interval: Duration,
    max_age: Duration,
    fetches: AtomicU64,
}

impl IssuerKeys {
    /// Keys from `source`; remote ones are fetched on first use.
    pub fn new(
        source: Source,
        http: reqwest::Client,
        refetch_interval: Duration,
        max_age: Duration,
    ) -> Self {
        Self {
            source,
            http,
            fetched: RwLock::default(),
            fetch_lock: tokio::sync::Mutex::new(()),
            refetch_interval,
            max_age,
            fetches: AtomicU64::new(0),
        }
    }

    /// How many HTTP JWKS fetches were made (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key named `kid`. Errors: unknown `kid` (after at most one throttled refetch) or
    /// the JWKS could not be fetched.
    pub async fn key(&self, kid: &str) -> Result<Key, AuthError> {
        if let Source::Static(set) = &self.source {
            return set.get(kid).ok_or(AuthError::invalid("unknown kid"));
        }
        if let Some(k) = self.cached(kid, true) {
            return Ok(k);
        }
        let _guard = self.fetch_lock.lock().await;
        if let Some(k) = self.cached(kid, true) {
            return Ok(k);
        }
        let (may_fetch, stale) = {
            let f = self.fetched.read().unwrap_or_else(|p| p.into_inner());
            let stale = f.last_success.is_none_or(|t| t.elapsed() >= self.max_age);
            let throttled = f
                .last_attempt
                .is_some_and(|t| t.elapsed() < self.refetch_interval);
            (!throttled, stale)
        };
        if may_fetch {
            self.refresh().await;
        } else if stale {
            tracing::debug!(kid = %kid, "JWKS refetch throttled");
        }
        self.cached(kid, false)
            .ok_or(AuthError::invalid("unknown kid"))
    }

    fn cached(&self, kid: &str, fresh_only: bool) -> Option<Key> {
        let f = self.fetched.read().unwrap_or_else(|p| p.into_inner());
        if fresh_only && f.last_success.is_none_or(|t| t.elapsed() >= self.max_age) {
            return None;
        }
        f.keys.get(kid)
    }

    async fn refresh(&self) {
        let Source::Remote { issuer, jwks_uri } = &self.source else {
            return;
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = match jwks_uri {
            Some(uri) => self.get_json(uri).await,
            None => match self.discover(issuer).await {
                Ok(uri) => self.get_json(&uri).await,
                Err(e) => Err(e),
            },
        };
        let mut f = self.fetched.write().unwrap_or_else(|p| p.into_inner());
        f.last_attempt = Some(Instant::now());
        match result {
            Ok(doc) => {
                let set = KeySet::from_json(&doc);
                tracing::info!(issuer = %issuer, keys = set.len(), "JWKS fetched");
                f.keys = Arc::new(set);
                f.last_success = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(issuer = %issuer, error = %e, "JWKS fetch failed; keeping previous keys")
            }
        }
    }

    /// SMART App Launch 2.x §2.1 discovery, then OpenID Connect Discovery 1.0 §4.
    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let base = issuer.trim_end_matches('/');
        for doc in ["smart-configuration", "openid-configuration"] {
            if let Ok(json) = self.get_json(&format!("{base}/.well-known/{doc}")).await
                && let Some(uri) = json.get("jwks_uri").and_then(|u| u.as_str())
            {
                return Ok(uri.to_owned());
            }
        }
        Err("no jwks_uri in the issuer's discovery documents".into())
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(format!(
                "{url}: document larger than {MAX_DOCUMENT_BYTES} bytes"
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
    }
}
