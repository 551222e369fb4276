//! Why a request was not authorized: RFC 6750 §3.1 error codes, mapped to 401/403 by
//! [`crate::error::GatewayError`].

/// An authentication or authorization failure. Descriptions name the reason only: never a
/// token, claim value or patient id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token (RFC 6750 §3.1: answered without an `error` code).
    #[error("an access token is required")]
    Missing,
    /// The token is malformed, expired, revoked, untrusted or not an access token
    /// (`invalid_token`, 401).
    #[error("{0}")]
    InvalidToken(String),
    /// The token is valid but its scopes or launch context do not allow the request
    /// (`insufficient_scope`, 403).
    #[error("{0}")]
    InsufficientScope(String),
}

impl AuthError {
    /// An `invalid_token` error.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidToken(reason.into())
    }

    /// An `insufficient_scope` error.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::InsufficientScope(reason.into())
    }
}

/// The `WWW-Authenticate` value for `error` (RFC 6750 §3): `Bearer realm="fhirgate"`,
/// plus `error` and `error_description` unless no token was presented (§3.1).
pub fn challenge(error: &AuthError) -> String {
    let quoted = |s: &str| {
        s.chars()
            .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
            .collect::<String>()
    };
    match error {
        AuthError::Missing => r#"Bearer realm="fhirgate""#.to_owned(),
        AuthError::InvalidToken(why) => {
            format!(
                r#"Bearer realm="fhirgate", error="invalid_token", error_description="{}""#,
                quoted(why)
            )
        }
        AuthError::InsufficientScope(why) => {
            format!(
                r#"Bearer realm="fhirgate", error="insufficient_scope", error_description="{}""#,
                quoted(why)
            )
        }
    }
}
