//! The body of a token or introspection request: `application/x-www-form-urlencoded`
//! parameters (RFC 6749 §3.2, RFC 7662 §2.1), read here so that every way it can fail is
//! answered as an RFC 6749 §5.2 error object, never the FHIR API's OperationOutcome:
//!
//! - another `Content-Type` (or none): 415 `invalid_request`;
//! - more than [`MAX_FORM_BYTES`]: 413 `invalid_request`;
//! - a body that stalled or trickled past `server.body_idle_timeout_seconds` /
//!   `server.body_read_timeout_seconds`: 408 `invalid_request`. The timeout itself is the
//!   read-timeout layer's ([`crate::policy::admission::read_timeout`]), which keeps a
//!   reader's own 408 and adds `Connection: close`; this reader only gives it the OAuth
//!   shape, as the adapter endpoints give it theirs;
//! - any other read failure (broken chunked framing): 400 `invalid_request`;
//! - a parameter sent twice: 400 `invalid_request` (RFC 6749 §3.2: "Request and response
//!   parameters MUST NOT be included more than once").
//!
//! RFC 6749 §5.2 names no status but 400 and 401; the body keeps the §5.2 shape and the
//! status says what the HTTP layer decided (RFC 9110 §15.5.9, §15.5.14, §15.5.16).

use std::error::Error as StdError;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::LengthLimitError;

use super::token::OAuthError;
use crate::policy::admission::body_timeout;

/// Largest token/introspection request body, in bytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The only media type a token or introspection request may carry (RFC 6749 §3.2).
const FORM: &str = "application/x-www-form-urlencoded";

/// The decoded form parameters of `body`, or the RFC 6749 §5.2 error saying why there are
/// none (module docs). `Content-Type` is checked first, so a wrong one costs no read.
pub async fn read_form(
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<(String, String)>, OAuthError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case(FORM)) {
        return Err(OAuthError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("the request body must be {FORM} (RFC 6749 section 3.2)"),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|e| read_error(&e))?;
    let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let mut names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(OAuthError::bad(
            "invalid_request",
            "parameters must not repeat (RFC 6749 section 3.2)",
        ));
    }
    Ok(form)
}

/// The error answering a failed read: 408 for a body timeout, 413 past the limit, else 400.
fn read_error(error: &(dyn StdError + 'static)) -> OAuthError {
    if let Some(timeout) = body_timeout(error) {
        return OAuthError::with_status(StatusCode::REQUEST_TIMEOUT, &timeout.to_string());
    }
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return OAuthError::with_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body exceeds {MAX_FORM_BYTES} bytes"),
            );
        }
        source = e.source();
    }
    OAuthError::bad("invalid_request", "the request body could not be read")
}
