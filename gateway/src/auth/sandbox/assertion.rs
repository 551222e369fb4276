//! `private_key_jwt` client authentication (RFC 7523 §3, SMART Backend Services §4.2.2):
//! the assertion's `iss` = `sub` = a registered client, signed by one of its keys, `aud` =
//! the token endpoint, `exp` at most 5 minutes ahead, and a `jti` never seen before.

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::Sandbox;
use super::token::OAuthError;
use crate::auth::validate::now;

/// The `client_assertion_type` for JWT client assertions (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Algorithms a client may sign with (SMART Backend Services §4.2.2: RS384, ES384).
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS384,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::ES256,
];

/// Longest assertion lifetime accepted, in seconds.
const MAX_LIFETIME: u64 = 300;

/// Verifies `assertion`; returns the client id. Errors are `invalid_client` (401).
pub fn verify(sandbox: &Sandbox, assertion: &str) -> Result<String, OAuthError> {
    let bad = |why: &str| OAuthError::invalid_client(why);
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| bad("client_assertion is not a JWT with a supported alg"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(bad("client_assertion alg not accepted"));
    }
    let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| bad("client_assertion payload is malformed"))?;
    let client_id = unverified
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let client = sandbox
        .clients
        .get(&client_id)
        .ok_or_else(|| bad("unknown client"))?;
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| bad("client_assertion has no kid"))?;
    let key = client
        .keys
        .get(kid)
        .ok_or_else(|| bad("client_assertion kid is not registered for this client"))?;
    if key.alg.is_some_and(|a| a != header.alg) || key.key.family() != header.alg.family() {
        return Err(bad("client_assertion alg does not match the key"));
    }
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.leeway = sandbox.leeway;
    validation.set_issuer(&[&client_id]);
    validation.sub = Some(client_id.clone());
    validation.set_audience(&[sandbox.token_endpoint()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(assertion, &key.key, &validation)
        .map_err(|e| {
            tracing::info!(client_id = %client_id, kid = %kid, error = %e, "client assertion refused");
            bad("client_assertion could not be verified")
        })?
        .claims;
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp > now() + MAX_LIFETIME + sandbox.leeway {
        return Err(bad("client_assertion exp is more than 5 minutes ahead"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| bad("client_assertion has no jti"))?;
    let entry = sandbox
        .seen_jti
        .entry(format!("{client_id}\u{0}{jti}"))
        .or_insert(());
    if !entry.is_fresh() {
        tracing::warn!(client_id = %client_id, "client assertion replayed");
        return Err(bad("client_assertion jti was already used"));
    }
    Ok(client_id)
}
