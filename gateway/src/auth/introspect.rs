//! RFC 7662 token introspection for opaque access tokens, with a short positive cache
//! (RFC 7662 §4: caching trades revocation latency for load; keep it short).

use std::time::Duration;

use base64::Engine;
use moka::sync::Cache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::IntrospectionConfig;

/// Calls one authorization server's introspection endpoint.
pub struct Introspector {
    config: IntrospectionConfig,
    http: reqwest::Client,
    active: Cache<[u8; 32], Map<String, Value>>,
}

impl Introspector {
    /// An introspector caching `active` answers for `ttl`.
    pub fn new(config: IntrospectionConfig, http: reqwest::Client, ttl: Duration) -> Self {
        Self {
            config,
            http,
            active: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The claims of an active token; `None` when inactive or the call failed.
    pub async fn introspect(&self, token: &str) -> Option<Map<String, Value>> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.active.get(&hash) {
            return Some(claims);
        }
        // RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(&self.config.client_id),
            enc(&self.config.client_secret)
        ));
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let response = self
            .http
            .post(&self.config.endpoint)
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                tracing::warn!(endpoint = %self.config.endpoint, status = r.status().as_u16(), "introspection refused");
                return None;
            }
            Err(e) => {
                tracing::warn!(endpoint = %self.config.endpoint, error = %e, "introspection failed");
                return None;
            }
        };
        let claims: Map<String, Value> = response.json().await.ok()?;
        if claims.get("active") != Some(&Value::Bool(true)) {
            return None;
        }
        self.active.insert(hash, claims.clone());
        Some(claims)
    }
}
