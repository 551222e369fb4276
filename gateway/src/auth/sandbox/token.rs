//! `POST /sandbox/auth/token` (RFC 6749 §3.2, §5): `client_credentials` with a
//! `private_key_jwt` assertion (SMART Backend Services §4.2) and `authorization_code` with
//! PKCE S256 (RFC 7636 §4.6). Errors are RFC 6749 §5.2 JSON.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::assertion::{self, JWT_BEARER};
use super::{Sandbox, TokenRequest};

/// An RFC 6749 §5.2 error answer: `{"error", "error_description"}` as `application/json`
/// with `Cache-Control: no-store` and `Pragma: no-cache`. The description keeps to the
/// characters §5.2 allows (printable ASCII but `"` and `\`); any other becomes `?`.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    /// `invalid_client` (401).
    pub fn invalid_client(why: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", why)
    }

    /// `invalid_token` (401, RFC 6750 §3.1): a protected endpoint of the sandbox (token
    /// introspection) called without a valid access token.
    pub fn invalid_token(why: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", why)
    }

    /// Any 400 error code.
    pub fn bad(error: &'static str, why: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, why)
    }

    /// `invalid_request` with another status than 400: what the HTTP layer decided about
    /// the request body (408, 413, 415; see `super::form`). RFC 6749 §5.2 names no status
    /// for these; the body keeps the §5.2 shape, the status says why.
    pub fn with_status(status: StatusCode, why: &str) -> Self {
        Self::new(status, "invalid_request", why)
    }

    fn new(status: StatusCode, error: &'static str, why: &str) -> Self {
        let allowed = |c: char| matches!(c, ' '..='~') && c != '"' && c != '\\';
        Self {
            status,
            error,
            description: why
                .chars()
                .map(|c| if allowed(c) { c } else { '?' })
                .collect(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        no_store(&mut r);
        r
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` on a token endpoint answer, success or
/// error (RFC 6749 §5.1, §5.2).
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Answers one token request (form parameters already decoded, none repeated:
/// `super::form`).
pub fn token(sandbox: &Sandbox, form: &[(String, String)]) -> Result<Response, OAuthError> {
    let ttl = sandbox.config.token_ttl_seconds;
    let (request, patient) = match param(form, "grant_type") {
        Some("client_credentials") => {
            if param(form, "client_assertion_type") != Some(JWT_BEARER) {
                return Err(OAuthError::invalid_client(
                    "client_assertion_type must be jwt-bearer (private_key_jwt)",
                ));
            }
            let assertion = param(form, "client_assertion")
                .ok_or_else(|| OAuthError::invalid_client("client_assertion missing"))?;
            let client_id = assertion::verify(sandbox, assertion)?;
            let client = &sandbox.clients[&client_id];
            let scope = sandbox.grant(client, param(form, "scope").unwrap_or(""));
            if scope.is_empty() {
                return Err(OAuthError::bad(
                    "invalid_scope",
                    "none of the requested scopes is registered for this client",
                ));
            }
            (
                TokenRequest {
                    client_id,
                    scope,
                    patient: None,
                    fhir_user: None,
                    ttl,
                },
                None,
            )
        }
        Some("authorization_code") => {
            let code = param(form, "code")
                .ok_or_else(|| OAuthError::bad("invalid_request", "code missing"))?;
            let pending = sandbox
                .codes
                .remove(code)
                .ok_or_else(|| OAuthError::bad("invalid_grant", "code unknown, expired or used"))?;
            if param(form, "client_id") != Some(pending.client_id.as_str())
                || param(form, "redirect_uri") != Some(pending.redirect_uri.as_str())
            {
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "client_id or redirect_uri differ from the authorization request",
                ));
            }
            let verifier = param(form, "code_verifier")
                .ok_or_else(|| OAuthError::bad("invalid_grant", "code_verifier missing"))?;
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !bool::from(computed.as_bytes().ct_eq(pending.code_challenge.as_bytes())) {
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "code_verifier does not match the code_challenge",
                ));
            }
            let patient = sandbox.config.patient.clone();
            let request = TokenRequest {
                client_id: pending.client_id,
                scope: pending.scope,
                patient: patient.clone(),
                fhir_user: sandbox.config.fhir_user.clone(),
                ttl,
            };
            (request, patient)
        }
        Some(_) => {
            return Err(OAuthError::bad(
                "unsupported_grant_type",
                "grant_type must be client_credentials or authorization_code",
            ));
        }
        None => return Err(OAuthError::bad("invalid_request", "grant_type missing")),
    };
    let token = sandbox.issue(&request).map_err(|_| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "signing failed",
        )
    })?;
    tracing::info!(client_id = %request.client_id, "sandbox token issued");
    let mut body = json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": request.scope});
    if let Some(p) = patient {
        body["patient"] = json!(p);
    }
    let mut r = Json(body).into_response();
    no_store(&mut r);
    Ok(r)
}
