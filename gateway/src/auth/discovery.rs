//! `GET /fhir/.well-known/smart-configuration` (SMART App Launch 2.x §2.1 "Discovery"),
//! and the endpoints for the CapabilityStatement's `oauth-uris` extension. Built from
//! config only (the sandbox's issuer when enabled, else `auth.discovery`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fhirgate_conformance::SmartUris;
use serde_json::{Value, json};

use super::config::AuthConfig;
use crate::state::AppState;

/// The endpoints to publish: `(issuer, jwks_uri, authorize, token, introspect)`.
fn endpoints(config: &AuthConfig) -> [Option<String>; 5] {
    if config.sandbox.enabled {
        let base = config.sandbox.issuer.trim_end_matches('/');
        return [
            Some(base.to_owned()),
            Some(format!("{base}/jwks")),
            Some(format!("{base}/authorize")),
            Some(format!("{base}/token")),
            Some(format!("{base}/introspect")),
        ];
    }
    let d = &config.discovery;
    [
        d.issuer.clone(),
        d.jwks_uri.clone(),
        d.authorization_endpoint.clone(),
        d.token_endpoint.clone(),
        d.introspection_endpoint.clone(),
    ]
}

/// The smart-configuration document.
pub fn document(config: &AuthConfig) -> Value {
    let [issuer, jwks_uri, authorize, token, introspect] = endpoints(config);
    let mut doc = json!({
        "capabilities": [
            "launch-standalone", "client-public", "client-confidential-asymmetric",
            "context-standalone-patient", "permission-patient", "permission-user",
            "permission-offline", "permission-v1", "permission-v2", "sso-openid-connect"
        ],
        "scopes_supported": [
            "openid", "fhirUser", "launch/patient", "offline_access",
            "patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds", "system/*.rs", "system/*.cruds",
            "patient/*.read", "user/*.read", "system/*.read", "patient/*.write", "user/*.write", "system/*.write"
        ],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
    });
    for (key, value) in [
        ("issuer", issuer),
        ("jwks_uri", jwks_uri),
        ("authorization_endpoint", authorize),
        ("token_endpoint", token),
        ("introspection_endpoint", introspect),
    ] {
        if let Some(v) = value {
            doc[key] = Value::String(v);
        }
    }
    doc
}

/// The `oauth-uris` extension's endpoints, when a token endpoint is known.
pub fn smart_uris(config: &AuthConfig) -> Option<SmartUris> {
    let [_, _, authorize, token, introspect] = endpoints(config);
    Some(SmartUris {
        authorize,
        token: token?,
        introspect,
    })
}

/// `GET /fhir/.well-known/smart-configuration` — no token needed.
pub async fn smart_configuration(State(state): State<Arc<AppState>>) -> Response {
    Json(document(&state.config.auth)).into_response()
}
