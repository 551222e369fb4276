//! The sandbox authorization server's signing key: ES384 (P-384, RFC 7518 §3.4), generated
//! with aws-lc-rs on first start, stored as PKCS#8 DER in `server.data_dir` with mode 0600,
//! and reused after. Its public JWK (RFC 7517) carries an RFC 7638 thumbprint as `kid`.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// File name of the key inside the data directory.
pub const KEY_FILE: &str = "sandbox-auth-es384.pk8";

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("sandbox signing key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not hold a P-384 PKCS#8 key.
    #[error("sandbox signing key {path} is not a P-384 PKCS#8 key")]
    Invalid {
        /// The key file.
        path: PathBuf,
    },
}

/// The loaded signing key.
pub struct SandboxKey {
    /// For signing (jsonwebtoken, ES384).
    pub encoding: EncodingKey,
    /// RFC 7638 thumbprint, used as `kid`.
    pub kid: String,
    /// The public JWK.
    pub jwk: Value,
}

impl SandboxKey {
    /// Loads `{data_dir}/sandbox-auth-es384.pk8`, creating it (mode 0600) when absent.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let der = match std::fs::read(&path) {
            Ok(der) => der,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path).map_err(io)?,
            Err(e) => return Err(io(e)),
        };
        Self::from_pkcs8(&der).ok_or(KeyError::Invalid { path })
    }

    fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der).ok()?;
        let public = pair.public_key().as_ref();
        if public.len() != 97 || public[0] != 4 {
            return None;
        }
        let x = URL_SAFE_NO_PAD.encode(&public[1..49]);
        let y = URL_SAFE_NO_PAD.encode(&public[49..97]);
        let canonical = format!(r#"{{"crv":"P-384","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-384", "x": x, "y": y, "kid": kid, "alg": "ES384", "use": "sig"});
        Some(Self {
            encoding: EncodingKey::from_ec_der(der),
            kid,
            jwk,
        })
    }

    /// The public JWK Set (`/sandbox/auth/jwks`).
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk.clone()]})
    }
}

/// Generates a key and writes it with `create_new` (a concurrent creator wins; its key is
/// then read back) and mode 0600.
fn create(path: &Path) -> std::io::Result<Vec<u8>> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| std::io::Error::other("key generation failed"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(doc.as_ref())?;
            file.sync_all()?;
            Ok(doc.as_ref().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path),
        Err(e) => Err(e),
    }
}
