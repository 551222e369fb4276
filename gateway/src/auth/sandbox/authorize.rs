//! `GET /sandbox/auth/authorize` (RFC 6749 §4.1.1, RFC 7636 §4.3, SMART App Launch 2.x
//! §2.1.5 standalone launch): validates the client, redirect URI, `aud` and PKCE S256
//! challenge, then auto-approves the configured sandbox patient and redirects with a code.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::token::OAuthError;
use super::{Code, Sandbox};

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Answers an authorization request. Errors before the redirect URI is trusted are JSON
/// (400); later ones are redirects with `error` (RFC 6749 §4.1.2.1).
pub fn authorize(sandbox: &Sandbox, query: &[(String, String)]) -> Result<Response, OAuthError> {
    let client_id = param(query, "client_id").unwrap_or("");
    let client = sandbox
        .clients
        .get(client_id)
        .ok_or_else(|| OAuthError::bad("invalid_request", "unknown client_id"))?;
    let redirect_uri = param(query, "redirect_uri").unwrap_or("");
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(OAuthError::bad(
            "invalid_request",
            "redirect_uri is not registered for this client",
        ));
    }
    let state = param(query, "state").unwrap_or("");
    let redirect = |pairs: &[(&str, &str)]| {
        let mut url = url::Url::parse(redirect_uri).ok();
        if let Some(u) = url.as_mut() {
            let mut q = u.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if !state.is_empty() {
                q.append_pair("state", state);
            }
        }
        let location = url.map(String::from).unwrap_or_default();
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    };
    let fail =
        |error: &str, why: &str| Ok(redirect(&[("error", error), ("error_description", why)]));
    if param(query, "response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    if param(query, "code_challenge_method") != Some("S256") {
        return fail(
            "invalid_request",
            "PKCE with code_challenge_method S256 is required",
        );
    }
    let challenge = param(query, "code_challenge").unwrap_or("");
    if challenge.len() != 43 {
        return fail(
            "invalid_request",
            "code_challenge must be a base64url SHA-256 (43 characters)",
        );
    }
    if !param(query, "aud").is_some_and(|a| sandbox.audiences.iter().any(|x| x == a)) {
        return fail("invalid_request", "aud must be this FHIR server's base URL");
    }
    if sandbox.config.patient.is_none() {
        return fail(
            "access_denied",
            "no sandbox patient is configured (auth.sandbox.patient)",
        );
    }
    let scope = sandbox.grant(client, param(query, "scope").unwrap_or(""));
    if scope.is_empty() {
        return fail(
            "invalid_scope",
            "none of the requested scopes is registered for this client",
        );
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    sandbox.codes.insert(
        code.clone(),
        Code {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            code_challenge: challenge.to_owned(),
        },
    );
    tracing::info!(client_id = %client_id, "sandbox launch auto-approved");
    Ok(redirect(&[("code", &code)]))
}
