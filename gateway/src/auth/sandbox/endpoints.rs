//! The `/sandbox/auth/*` routes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::form::read_form;
use super::token::{OAuthError, no_store};
use crate::ops::allow_only;
use crate::state::AppState;

/// The sandbox routes (mounted by `crate::app` when the sandbox is enabled). The token and
/// introspection bodies are read by `super::form` (its own size limit, every failure an
/// RFC 6749 §5.2 error object).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/sandbox/auth/jwks",
            get(jwks).fallback(allow_only("GET, HEAD")),
        )
        .route(
            "/sandbox/auth/token",
            post(token).fallback(allow_only("POST")),
        )
        .route(
            "/sandbox/auth/authorize",
            get(authorize).fallback(allow_only("GET, HEAD")),
        )
        .route(
            "/sandbox/auth/introspect",
            post(introspect).fallback(allow_only("POST")),
        )
}

fn disabled() -> Response {
    OAuthError::bad(
        "invalid_request",
        "the sandbox authorization server is disabled",
    )
    .into_response()
}

async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    match &state.auth.sandbox {
        Some(s) => Json(s.key().jwks()).into_response(),
        None => disabled(),
    }
}

/// The token endpoint. A 401 to a client that tried the `Authorization` header carries
/// `WWW-Authenticate` with the scheme it used (RFC 6749 §5.2 `invalid_client`); the sandbox
/// authenticates clients by `private_key_jwt` only (SMART Backend Services §4.2).
async fn token(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let mut answer = match (&state.auth.sandbox, read_form(&headers, body).await) {
        (None, _) => disabled(),
        (Some(_), Err(e)) => e.into_response(),
        (Some(s), Ok(form)) => {
            super::token::token(s, &form).unwrap_or_else(IntoResponse::into_response)
        }
    };
    let scheme = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(' ').next())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if answer.status() == StatusCode::UNAUTHORIZED
        && let Some(scheme) = scheme
        && let Ok(value) = HeaderValue::from_str(&format!("{scheme} realm=\"fhirgate-sandbox\""))
    {
        answer.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    answer
}

async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let query = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect::<Vec<_>>();
    match &state.auth.sandbox {
        Some(s) => {
            super::authorize::authorize(s, &query).unwrap_or_else(IntoResponse::into_response)
        }
        None => disabled(),
    }
}

/// RFC 7662 §2: `{"active": false}` for anything but a valid token of the sandbox issuer.
/// The caller must be authorized (RFC 7662 §2.1, against token scanning): it presents an
/// access token of this sandbox as `Authorization: Bearer` ("a separate OAuth 2.0 access
/// token"), else 401 `invalid_token` with `WWW-Authenticate: Bearer` (RFC 6750 §3). A
/// request without `token` is 400 `invalid_request` (RFC 7662 §2.3 refers to RFC 6749 §5.2).
async fn introspect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(sandbox) = &state.auth.sandbox else {
        return disabled();
    };
    let caller = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let authorized = match caller {
        Some(token) => state
            .auth
            .validator
            .validate(token)
            .await
            .is_ok_and(|identity| identity.issuer == sandbox.issuer()),
        None => false,
    };
    if !authorized {
        let mut refused = OAuthError::invalid_token(
            "introspection needs an access token of this sandbox as Authorization: Bearer (RFC 7662 section 2.1)",
        )
        .into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"fhirgate-sandbox\", error=\"invalid_token\""),
        );
        return refused;
    }
    let form = match read_form(&headers, body).await {
        Ok(form) => form,
        Err(e) => return e.into_response(),
    };
    // `token` is REQUIRED (RFC 7662 §2.1); one sent empty counts as omitted (RFC 6749 §3.2).
    let Some(token) = form
        .iter()
        .find(|(k, v)| k == "token" && !v.is_empty())
        .map(|(_, v)| v.as_str())
    else {
        return OAuthError::bad("invalid_request", "token missing (RFC 7662 section 2.1)")
            .into_response();
    };
    let mut inactive = Json(json!({"active": false})).into_response();
    no_store(&mut inactive);
    let Ok(identity) = state.auth.validator.validate(token).await else {
        return inactive;
    };
    if identity.issuer != sandbox.issuer() {
        return inactive;
    }
    let p = &identity.principal;
    let mut answer = json!({
        "active": true,
        "scope": p.scopes.join(" "),
        "client_id": p.client_id,
        "token_type": "Bearer",
        "exp": identity.exp,
        "iss": identity.issuer,
    });
    if let Some(patient) = &p.patient {
        answer["patient"] = json!(patient);
    }
    if let Some(user) = &p.fhir_user {
        answer["fhirUser"] = json!(user);
    }
    let mut answer = Json(answer).into_response();
    no_store(&mut answer);
    answer
}
