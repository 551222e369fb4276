//! `auth:` — trusted token issuers, accepted audiences, the user policy and the sandbox
//! authorization server (SMART App Launch 2.x, SMART Backend Services, RFC 7662).

use std::path::PathBuf;

use serde::Deserialize;

/// Algorithms accepted when an issuer lists none (RFC 7518 §3.1; never `none`, never HS*).
pub const DEFAULT_ALGORITHMS: [&str; 4] = ["RS256", "RS384", "ES256", "ES384"];

/// Asymmetric algorithms an issuer may list.
const ALLOWED_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384", "PS512", "EdDSA",
];

/// The `auth` section. Without it every `/fhir` call except discovery answers 401.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Accepted `aud` values of access tokens (RFC 7519 §4.1.3), e.g.
    /// `http://127.0.0.1:8080/fhir`. From config only, never derived from Host or
    /// `X-Forwarded-*`. Default: none (every token is refused).
    pub audiences: Vec<String>,
    /// Trusted authorization servers. The sandbox issuer is added automatically when enabled.
    pub issuers: Vec<IssuerConfig>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Default 60.
    pub leeway_seconds: u64,
    /// Minimum seconds between two JWKS fetches of one issuer triggered by an unknown `kid`
    /// (a flood of bogus kids causes at most one fetch per interval). Default 60.
    pub jwks_refetch_seconds: u64,
    /// Seconds a fetched JWKS is used before it is fetched again. Default 3600.
    pub jwks_cache_seconds: u64,
    /// Seconds an `active` introspection answer is reused (RFC 7662 §4). Default 30.
    pub introspection_cache_seconds: u64,
    /// Which patients a `user/` scope reaches (SMART leaves it to the server):
    /// `all` (default) or `care_team` (patients the `fhirUser` Practitioner has an
    /// Encounter or CareTeam with).
    pub user_patients: UserPatients,
    /// Values published in `.well-known/smart-configuration` when the sandbox is off
    /// (absolute URLs of the external authorization server).
    pub discovery: DiscoveryConfig,
    /// The built-in sandbox authorization server under `/sandbox/auth/`. Off by default.
    pub sandbox: SandboxConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            audiences: Vec::new(),
            issuers: Vec::new(),
            leeway_seconds: 60,
            jwks_refetch_seconds: 60,
            jwks_cache_seconds: 3600,
            introspection_cache_seconds: 30,
            user_patients: UserPatients::All,
            discovery: DiscoveryConfig::default(),
            sandbox: SandboxConfig::default(),
        }
    }
}

/// The patients a `user/` scope reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserPatients {
    /// Every patient (the scopes are the only limit).
    #[default]
    All,
    /// Only patients with an Encounter (`participant`) or CareTeam (`participant`)
    /// naming the token's `fhirUser` Practitioner; no `fhirUser` → no patients.
    CareTeam,
}

/// One trusted authorization server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value of its tokens.
    pub issuer: String,
    /// Its JWKS URL. Unset: discovered from `{issuer}/.well-known/smart-configuration`, then
    /// `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Accepted JWS algorithms. Default RS256, RS384, ES256, ES384.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// RFC 7662 introspection for opaque (non-JWT) tokens of this issuer.
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
}

fn default_algorithms() -> Vec<String> {
    DEFAULT_ALGORITHMS.iter().map(|a| (*a).to_owned()).collect()
}

/// How the gateway introspects opaque tokens (RFC 7662 §2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// Introspection endpoint URL.
    pub endpoint: String,
    /// The gateway's client id at the authorization server (HTTP Basic).
    pub client_id: String,
    /// Its client secret; use `${ENV_VAR}`.
    pub client_secret: String,
}

/// Discovery values for an external authorization server (SMART App Launch 2.x §2.1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// `issuer`.
    pub issuer: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    pub token_endpoint: Option<String>,
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<String>,
}

/// The sandbox authorization server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Serve `/sandbox/auth/*` and trust its tokens. Default false.
    pub enabled: bool,
    /// Its issuer URL, e.g. `http://127.0.0.1:8080/sandbox/auth`; endpoints are
    /// `{issuer}/authorize`, `/token`, `/jwks`, `/introspect`. Required when enabled.
    pub issuer: String,
    /// Access token lifetime in seconds. Default 3600.
    pub token_ttl_seconds: u64,
    /// Patient id the standalone launch auto-approves (`patient` claim).
    pub patient: Option<String>,
    /// `fhirUser` the standalone launch puts in its tokens, e.g. `Patient/123`.
    pub fhir_user: Option<String>,
    /// Registered clients.
    pub clients: Vec<SandboxClient>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            issuer: String::new(),
            token_ttl_seconds: 3600,
            patient: None,
            fhir_user: None,
            clients: Vec::new(),
        }
    }
}

/// A client registered with the sandbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxClient {
    /// Its `client_id`.
    pub client_id: String,
    /// Scopes it may be granted (a ceiling; requests asking more get the intersection).
    pub scope: String,
    /// Public keys for `private_key_jwt` (SMART Backend Services §4.2), inline JWKS.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Public keys for `private_key_jwt` from a JWKS file (relative to the working dir).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Redirect URIs for the authorization code grant (exact match, RFC 6749 §3.1.2).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

impl AuthConfig {
    /// Pure checks; `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut push = |path: String, problem: &str| problems.push((path, problem.to_owned()));
        for (i, aud) in self.audiences.iter().enumerate() {
            if aud.trim().is_empty() {
                push(format!("auth.audiences[{i}]"), "must not be empty");
            }
        }
        for (i, issuer) in self.issuers.iter().enumerate() {
            if url::Url::parse(&issuer.issuer).is_err() {
                push(
                    format!("auth.issuers[{i}].issuer"),
                    "must be an absolute URL",
                );
            }
            if issuer.algorithms.is_empty() {
                push(
                    format!("auth.issuers[{i}].algorithms"),
                    "must list at least one",
                );
            }
            for (j, alg) in issuer.algorithms.iter().enumerate() {
                if !ALLOWED_ALGORITHMS.contains(&alg.as_str()) {
                    push(
                        format!("auth.issuers[{i}].algorithms[{j}]"),
                        "must be an asymmetric JWS algorithm (RS*, PS*, ES*, EdDSA); none and HS* are refused",
                    );
                }
            }
        }
        if self.jwks_refetch_seconds == 0 {
            push("auth.jwks_refetch_seconds".into(), "must be at least 1");
        }
        let s = &self.sandbox;
        if s.enabled {
            if url::Url::parse(&s.issuer).is_err() {
                push(
                    "auth.sandbox.issuer".into(),
                    "must be an absolute URL when the sandbox is enabled",
                );
            }
            if s.token_ttl_seconds == 0 {
                push(
                    "auth.sandbox.token_ttl_seconds".into(),
                    "must be at least 1",
                );
            }
            if self.audiences.is_empty() {
                push(
                    "auth.audiences".into(),
                    "the sandbox needs at least one audience for its tokens",
                );
            }
        }
        for (i, c) in s.clients.iter().enumerate() {
            if c.jwks.is_some() && c.jwks_file.is_some() {
                push(
                    format!("auth.sandbox.clients[{i}]"),
                    "set jwks or jwks_file, not both",
                );
            }
        }
        problems
    }
}
