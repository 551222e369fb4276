//! Settings of a `kind: fhir` adapter (`adapters.<name>` in `gateway.yaml`).
//!
//! Secrets are never literals: `client_secret` / `private_key` hold the value of a
//! `${ENV_VAR}` reference (expanded by the gateway before parsing), or `client_secret_file` /
//! `private_key_file` name a file read when the adapter is built (never in `validate`).

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::ConfigProblem;

/// Settings of a `kind: fhir` adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirConfig {
    /// Base URL of the upstream FHIR R4 API, e.g. `https://ehr.example.org/fhir`.
    pub base_url: String,
    /// Seconds to wait for the TCP/TLS connection (default 5). Elapsed: 504.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: f64,
    /// Seconds to wait for the whole upstream answer, body included (default 30). Elapsed: 504.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// Seconds `/readyz` waits for `GET [base]/metadata` (default 5).
    #[serde(default = "default_check_timeout")]
    pub check_timeout_seconds: f64,
    /// Answers that carry no Bundle (read, vread, create, update…) larger than this many bytes
    /// stream through without inspection (default 1048576 = 1 MiB). Binary and non-JSON
    /// answers always stream.
    #[serde(default = "default_stream_threshold")]
    pub stream_threshold_bytes: u64,
    /// Largest Bundle answer (search, history, batch, transaction, operation) buffered for
    /// link rewriting, in bytes; a larger one answers 502 (a batch- or
    /// transaction-response over `server.max_answer_bytes`: 413 `too-costly`). Default
    /// `server.max_answer_bytes` (32 MiB).
    #[serde(default)]
    pub max_buffered_bytes: Option<u64>,
    /// OAuth2 client credentials for the upstream (absent: no `Authorization` is sent).
    #[serde(default)]
    pub auth: Option<UpstreamAuth>,
}

fn default_connect_timeout() -> f64 {
    5.0
}

fn default_timeout() -> f64 {
    30.0
}

fn default_check_timeout() -> f64 {
    5.0
}

fn default_stream_threshold() -> u64 {
    1024 * 1024
}

/// How the adapter authenticates to the upstream: the OAuth2 `client_credentials` grant
/// (RFC 6749 §4.4), selected by `method`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum UpstreamAuth {
    /// `method: client_secret_basic` — client id and secret in HTTP Basic (RFC 6749 §2.3.1).
    ClientSecretBasic(ClientSecretBasic),
    /// `method: private_key_jwt` — a signed JWT assertion (RFC 7523 §2.2, SMART Backend
    /// Services "Authenticating to the token endpoint").
    PrivateKeyJwt(PrivateKeyJwt),
}

/// A secret value from the environment; its `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Settings of `method: client_secret_basic`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSecretBasic {
    /// The authorization server's token endpoint, e.g. `https://ehr.example.org/oauth2/token`.
    pub token_url: String,
    /// The client id registered at the authorization server.
    pub client_id: String,
    /// The client secret, from `${ENV_VAR}`; exactly one of this and `client_secret_file`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// A file holding the client secret (surrounding whitespace ignored).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Space-separated scopes to request, e.g. `system/*.rs` (default: none sent).
    #[serde(default)]
    pub scope: Option<String>,
}

/// Settings of `method: private_key_jwt`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateKeyJwt {
    /// The authorization server's token endpoint; also the assertion's `aud`.
    pub token_url: String,
    /// The client id; the assertion's `iss` and `sub`.
    pub client_id: String,
    /// The PEM private key (PKCS#8, or PKCS#1 for RSA), from `${ENV_VAR}`; exactly one of
    /// this and `private_key_file`.
    #[serde(default)]
    pub private_key: Option<Secret>,
    /// A PEM file holding the private key.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// The `kid` of the key in the client's registered JWK Set (JWT header `kid`).
    pub key_id: String,
    /// Signing algorithm: `RS384` (default) or `ES384` (SMART Backend Services).
    #[serde(default)]
    pub algorithm: SigningAlgorithm,
    /// Space-separated scopes to request, e.g. `system/*.rs` (default: none sent).
    #[serde(default)]
    pub scope: Option<String>,
}

/// The JWS algorithms SMART Backend Services requires servers to support.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[default]
    RS384,
    /// ECDSA P-384 with SHA-384.
    ES384,
}

impl FhirConfig {
    /// Pure checks of the settings (no I/O: secret files are read by `build`).
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if super::rewrite::Base::parse(&self.base_url).is_err() {
            problems.push(ConfigProblem::new(
                "base_url",
                "must be an absolute http(s) URL without query, fragment or user info",
            ));
        }
        for (key, value) in [
            ("timeout_seconds", self.timeout_seconds),
            ("connect_timeout_seconds", self.connect_timeout_seconds),
            ("check_timeout_seconds", self.check_timeout_seconds),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                problems.push(ConfigProblem::new(key, "must be a number > 0"));
            }
        }
        if self.max_buffered_bytes == Some(0) {
            problems.push(ConfigProblem::new("max_buffered_bytes", "must be > 0"));
        }
        match &self.auth {
            None => {}
            Some(UpstreamAuth::ClientSecretBasic(c)) => {
                check_auth(&mut problems, &c.token_url, &c.client_id);
                one_of(
                    &mut problems,
                    ("client_secret", c.client_secret.is_some()),
                    ("client_secret_file", c.client_secret_file.is_some()),
                );
            }
            Some(UpstreamAuth::PrivateKeyJwt(c)) => {
                check_auth(&mut problems, &c.token_url, &c.client_id);
                one_of(
                    &mut problems,
                    ("private_key", c.private_key.is_some()),
                    ("private_key_file", c.private_key_file.is_some()),
                );
                if c.key_id.is_empty() {
                    problems.push(ConfigProblem::new("auth.key_id", "must not be empty"));
                }
            }
        }
        problems
    }
}

fn check_auth(problems: &mut Vec<ConfigProblem>, token_url: &str, client_id: &str) {
    match url::Url::parse(token_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => problems.push(ConfigProblem::new(
            "auth.token_url",
            "must be an absolute http(s) URL",
        )),
    }
    if client_id.is_empty() {
        problems.push(ConfigProblem::new("auth.client_id", "must not be empty"));
    }
}

fn one_of(problems: &mut Vec<ConfigProblem>, a: (&str, bool), b: (&str, bool)) {
    if a.1 == b.1 {
        problems.push(ConfigProblem::new(
            format!("auth.{}", a.0),
            format!("set exactly one of `{}` and `{}`", a.0, b.0),
        ));
    }
}

#[cfg(test)]
mod tests;
