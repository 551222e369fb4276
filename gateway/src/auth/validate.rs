//! Access token validation (RFC 7519 §7.2, RFC 7515 §5.2, RFC 9068 profile checks):
//! signature with the issuer's key by `kid`, `iss`, `aud`, `exp`, `nbf`, `iat`; ID tokens
//! refused; opaque tokens introspected (RFC 7662). Verified tokens are cached by SHA-256
//! until `exp`, so steady-state requests skip signature verification.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use moka::sync::Cache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::AuthError;
use super::identity::Identity;
use super::introspect::Introspector;
use super::jwks::IssuerKeys;

/// Longest bearer token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Most tokens kept in the verified-token cache.
const CACHE_CAPACITY: u64 = 100_000;

/// One trusted issuer with its keys.
pub struct TrustedIssuer {
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted algorithms (never `none` or HS*: `AuthConfig::validate` refuses them).
    pub algorithms: Vec<Algorithm>,
    /// Its keys.
    pub keys: IssuerKeys,
    /// Introspection for its opaque tokens.
    pub introspector: Option<Introspector>,
}

/// Per-entry expiry: a cached identity lives until its token's `exp`.
struct UntilExp;

impl moka::Expiry<[u8; 32], Arc<Identity>> for UntilExp {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        value: &Arc<Identity>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(value.exp.saturating_sub(now())))
    }
}

/// Validates bearer tokens against the trusted issuers and configured audiences.
pub struct Validator {
    issuers: Vec<Arc<TrustedIssuer>>,
    audiences: Vec<String>,
    leeway: u64,
    verified: Cache<[u8; 32], Arc<Identity>>,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl Validator {
    /// A validator for `issuers` accepting `audiences`, with `leeway` seconds of clock skew.
    pub fn new(issuers: Vec<Arc<TrustedIssuer>>, audiences: Vec<String>, leeway: u64) -> Self {
        Self {
            issuers,
            audiences,
            leeway,
            verified: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(UntilExp)
                .build(),
        }
    }

    /// The trusted issuer named `iss`.
    pub fn issuer(&self, iss: &str) -> Option<&Arc<TrustedIssuer>> {
        self.issuers.iter().find(|i| i.issuer == iss)
    }

    /// Validates `token`. Errors are `invalid_token` with a reason that names no claim value.
    pub async fn validate(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::invalid("malformed token"));
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(identity) = self.verified.get(&hash)
            && identity.exp > now()
        {
            return Ok(identity);
        }
        let identity = if token.split('.').count() == 3 {
            self.verify_jwt(token).await?
        } else {
            self.introspect(token).await?
        };
        let identity = Arc::new(identity);
        if identity.exp > now() {
            self.verified.insert(hash, identity.clone());
        }
        Ok(identity)
    }

    async fn verify_jwt(&self, token: &str) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::invalid("malformed JWT header or unsupported alg"))?;
        let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| AuthError::invalid("malformed JWT payload"))?;
        let iss = unverified
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(AuthError::invalid("token has no iss"))?;
        let issuer = self
            .issuer(iss)
            .ok_or(AuthError::invalid("untrusted issuer"))?;
        if !issuer.algorithms.contains(&header.alg) {
            return Err(AuthError::invalid(
                "signature algorithm not accepted for this issuer",
            ));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or(AuthError::invalid("token header has no kid"))?;
        let key = issuer.keys.key(kid).await?;
        if key.alg.is_some_and(|a| a != header.alg) || key.key.family() != header.alg.family() {
            return Err(AuthError::invalid("key does not match the token's alg"));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                let reason = match e.kind() {
                    K::ExpiredSignature => "token expired",
                    K::ImmatureSignature => "token not yet valid (nbf)",
                    K::InvalidAudience => "token audience not accepted",
                    K::InvalidIssuer => "untrusted issuer",
                    K::InvalidSignature => "invalid signature",
                    K::MissingRequiredClaim(_) => "token misses exp, iss or aud",
                    _ => "token could not be verified",
                };
                tracing::info!(issuer = %issuer.issuer, kid = %kid, reason, "token refused");
                AuthError::invalid(reason)
            })?;
        let claims = data.claims;
        check_times(&claims, self.leeway)?;
        refuse_id_token(&claims)?;
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(AuthError::invalid("exp is not a number"))?;
        Identity::from_claims(&claims, &issuer.issuer, exp)
    }

    async fn introspect(&self, token: &str) -> Result<Identity, AuthError> {
        let mut any = false;
        for issuer in &self.issuers {
            let Some(introspector) = &issuer.introspector else {
                continue;
            };
            any = true;
            if let Some(claims) = introspector.introspect(token).await {
                if claims
                    .get("iss")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i != issuer.issuer)
                {
                    continue;
                }
                if let Some(aud) = claims.get("aud")
                    && !audience_matches(aud, &self.audiences)
                {
                    return Err(AuthError::invalid("token audience not accepted"));
                }
                check_times(&claims, self.leeway)?;
                let exp = claims
                    .get("exp")
                    .and_then(Value::as_u64)
                    .ok_or(AuthError::invalid("introspection gave no exp"))?;
                if exp + self.leeway <= now() {
                    return Err(AuthError::invalid("token expired"));
                }
                return Identity::from_claims(&claims, &issuer.issuer, exp);
            }
        }
        Err(AuthError::invalid(if any {
            "token is not active"
        } else {
            "malformed token"
        }))
    }
}

/// `aud` (string or array, RFC 7519 §4.1.3) names one of `audiences`.
fn audience_matches(aud: &Value, audiences: &[String]) -> bool {
    match aud {
        Value::String(a) => audiences.iter().any(|x| x == a),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    }
}

/// `iat` must not be in the future (beyond leeway); `nbf`/`exp` are checked by jsonwebtoken
/// for JWTs and here again for introspection answers.
fn check_times(claims: &Map<String, Value>, leeway: u64) -> Result<(), AuthError> {
    let now = now();
    if claims
        .get("iat")
        .and_then(Value::as_u64)
        .is_some_and(|iat| iat > now + leeway)
    {
        return Err(AuthError::invalid("token issued in the future (iat)"));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_u64)
        .is_some_and(|nbf| nbf > now + leeway)
    {
        return Err(AuthError::invalid("token not yet valid (nbf)"));
    }
    Ok(())
}

/// The rule that tells an OpenID Connect ID token from an access token (the `typ` header
/// is not reliable: many servers write `JWT` for both): a token carrying `nonce`,
/// `at_hash`, `c_hash` or `auth_time`-with-no-`scope` is an ID token (OpenID Connect Core
/// 1.0 §2, §3.1.3.6), and an access token must carry `scope` (RFC 9068 §2.2.3). An ID
/// token's `aud` is the client id, which is also refused unless configured as an audience.
fn refuse_id_token(claims: &Map<String, Value>) -> Result<(), AuthError> {
    if ["nonce", "at_hash", "c_hash"]
        .iter()
        .any(|k| claims.contains_key(*k))
        || !claims.contains_key("scope")
    {
        return Err(AuthError::invalid("an ID token is not an access token"));
    }
    Ok(())
}
