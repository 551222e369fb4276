//! The `private_key_jwt` client assertion (RFC 7523 §2.2 and §3; SMART Backend Services
//! "Authenticating to the token endpoint"): a JWT signed with the client's private key.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::fhir::config::SigningAlgorithm;

/// `client_assertion_type` for a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of an assertion in seconds. SMART Backend Services: `exp` no more than five
/// minutes in the future.
pub const ASSERTION_LIFETIME_SECONDS: u64 = 240;

/// Signs client assertions with one private key.
pub struct AssertionSigner {
    key: EncodingKey,
    algorithm: Algorithm,
    key_id: String,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
}

impl AssertionSigner {
    /// A signer for the PEM private key `pem` (RSA for RS384, P-384 EC for ES384).
    /// Errors: a message (never the key) when the PEM does not hold such a key.
    pub fn from_pem(pem: &[u8], algorithm: SigningAlgorithm, key_id: &str) -> Result<Self, String> {
        let (key, algorithm) = match algorithm {
            SigningAlgorithm::RS384 => (EncodingKey::from_rsa_pem(pem), Algorithm::RS384),
            SigningAlgorithm::ES384 => (EncodingKey::from_ec_pem(pem), Algorithm::ES384),
        };
        let key = key.map_err(|e| format!("private key is not a PEM {algorithm:?} key: {e}"))?;
        Ok(Self {
            key,
            algorithm,
            key_id: key_id.to_owned(),
        })
    }

    /// A fresh assertion for `client_id` at the token endpoint `token_url`:
    /// `iss` = `sub` = client id, `aud` = token URL, `exp` = now + 240 s, a unique `jti`,
    /// and `kid` in the header.
    pub fn sign(&self, client_id: &str, token_url: &str) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.key_id.clone());
        let claims = Claims {
            iss: client_id,
            sub: client_id,
            aud: token_url,
            exp: now + ASSERTION_LIFETIME_SECONDS,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign client assertion: {e}"))
    }
}
