//! OAuth2 client credentials to the upstream (RFC 6749 §4.4) with the `oauth2` crate:
//! `client_secret_basic` (RFC 6749 §2.3.1) or `private_key_jwt` (RFC 7523, SMART Backend
//! Services). The access token is cached until shortly before it expires; one request
//! fetches it while concurrent ones wait for that result (single flight).

mod assertion;

use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, HttpClientError, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use tokio::sync::Mutex;

pub use assertion::{ASSERTION_LIFETIME_SECONDS, AssertionSigner, JWT_BEARER};

use super::config::{Secret, UpstreamAuth};
use crate::AdapterError;

/// Lifetime assumed when the token response has no `expires_in` (SMART Backend Services
/// recommends five minutes).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// How the client authenticates at the token endpoint.
enum Credential {
    Secret(String),
    Jwt(AssertionSigner),
}

#[derive(Clone)]
struct Cached {
    token: Arc<str>,
    refresh_at: Instant,
}

/// Fetches and caches upstream access tokens.
pub struct TokenSource {
    adapter: String,
    client_id: String,
    token_url: TokenUrl,
    scopes: Vec<String>,
    credential: Credential,
    http: reqwest::Client,
    cache: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

fn read_secret(
    adapter: &str,
    inline: &Option<Secret>,
    file: &Option<std::path::PathBuf>,
) -> Result<String, AdapterError> {
    let config = |detail: String| AdapterError::Config {
        adapter: adapter.to_owned(),
        detail,
    };
    match (inline, file) {
        (Some(Secret(s)), None) => Ok(s.clone()),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .map_err(|e| config(format!("cannot read {}: {e}", path.display()))),
        _ => Err(config("set exactly one secret source".into())),
    }
}

impl TokenSource {
    /// Builds the token source for `auth`, reading the secret or private key now.
    /// `http` must not follow redirects. Errors: [`AdapterError::Config`].
    pub fn new(
        adapter: &str,
        auth: &UpstreamAuth,
        http: reqwest::Client,
    ) -> Result<Self, AdapterError> {
        let config = |detail: String| AdapterError::Config {
            adapter: adapter.to_owned(),
            detail,
        };
        let (token_url, client_id, scope, credential) = match auth {
            UpstreamAuth::ClientSecretBasic(c) => {
                let secret = read_secret(adapter, &c.client_secret, &c.client_secret_file)?;
                (
                    &c.token_url,
                    &c.client_id,
                    &c.scope,
                    Credential::Secret(secret),
                )
            }
            UpstreamAuth::PrivateKeyJwt(c) => {
                let pem = read_secret(adapter, &c.private_key, &c.private_key_file)?;
                let signer = AssertionSigner::from_pem(pem.as_bytes(), c.algorithm, &c.key_id)
                    .map_err(config)?;
                (
                    &c.token_url,
                    &c.client_id,
                    &c.scope,
                    Credential::Jwt(signer),
                )
            }
        };
        let token_url =
            TokenUrl::new(token_url.clone()).map_err(|e| config(format!("auth.token_url: {e}")))?;
        Ok(Self {
            adapter: adapter.to_owned(),
            client_id: client_id.clone(),
            token_url,
            scopes: scope
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            credential,
            http,
            cache: Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub async fn token(&self) -> Result<Arc<str>, AdapterError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        *cache = Some(fresh.clone());
        Ok(fresh.token)
    }

    /// A new token after the upstream refused `rejected` (401): fetched unless another
    /// request already replaced `rejected` in the cache.
    pub async fn refresh(&self, rejected: &str) -> Result<Arc<str>, AdapterError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache
            .as_ref()
            .filter(|c| &*c.token != rejected && Instant::now() < c.refresh_at)
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        *cache = Some(fresh.clone());
        Ok(fresh.token)
    }

    async fn fetch(&self) -> Result<Cached, AdapterError> {
        let started = Instant::now();
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(self.token_url.clone());
        client = match &self.credential {
            Credential::Secret(s) => client
                .set_client_secret(ClientSecret::new(s.clone()))
                .set_auth_type(AuthType::BasicAuth),
            Credential::Jwt(_) => client.set_auth_type(AuthType::RequestBody),
        };
        let mut request = client.exchange_client_credentials();
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Credential::Jwt(signer) = &self.credential {
            let assertion = signer
                .sign(&self.client_id, self.token_url.as_str())
                .map_err(|detail| AdapterError::Config {
                    adapter: self.adapter.clone(),
                    detail,
                })?;
            request = request
                .add_extra_param("client_assertion_type", JWT_BEARER)
                .add_extra_param("client_assertion", assertion);
        }
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| self.token_error(e))?;
        let lifetime = response.expires_in().unwrap_or(DEFAULT_LIFETIME);
        // Refresh a little before expiry: 30 s, or a tenth of short lifetimes.
        let margin = (lifetime / 10).min(Duration::from_secs(30));
        tracing::debug!(adapter = %self.adapter, lifetime_seconds = lifetime.as_secs(), "upstream token fetched");
        Ok(Cached {
            token: Arc::from(response.access_token().secret().as_str()),
            refresh_at: started + lifetime.saturating_sub(margin),
        })
    }

    fn token_error(
        &self,
        error: RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>,
    ) -> AdapterError {
        let adapter = self.adapter.clone();
        match error {
            RequestTokenError::Request(HttpClientError::Reqwest(e)) => {
                crate::fhir::transport::transport_error(&adapter, &e, None)
            }
            RequestTokenError::ServerResponse(e) => AdapterError::BadGateway {
                adapter,
                detail: format!("token endpoint refused the client: {}", e.error()),
            },
            RequestTokenError::Parse(_, _) => AdapterError::BadGateway {
                adapter,
                detail: "token endpoint answered no valid token response".into(),
            },
            other => AdapterError::BadGateway {
                adapter,
                detail: format!("token request failed: {other}"),
            },
        }
    }
}
