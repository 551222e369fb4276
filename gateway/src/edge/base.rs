//! The public base URL of the FHIR API for one request: `server.base_url`, or derived
//! from the request's scheme and Host (and `X-Forwarded-*` when trusted).

use axum::http::{HeaderMap, header::HOST, uri::Authority};

use crate::config::ServerConfig;
use crate::error::GatewayError;

/// The base for links in answers, without a trailing slash (e.g. `http://127.0.0.1:8080/fhir`).
///
/// Errors: a Host (or trusted `X-Forwarded-Host`) that is not a valid authority → 400, so
/// a client can never inject text into links.
pub fn public_base(server: &ServerConfig, headers: &HeaderMap) -> Result<String, GatewayError> {
    if let Some(base) = server.base_url() {
        return Ok(base.to_owned());
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim())
    };
    let forwarded = server.trust_forwarded_headers;
    let proto = forwarded
        .then(|| header("x-forwarded-proto"))
        .flatten()
        .unwrap_or("http");
    if !matches!(proto, "http" | "https") {
        return Err(GatewayError::BadRequest(format!(
            "X-Forwarded-Proto '{proto}' is not http or https"
        )));
    }
    let host = forwarded
        .then(|| header("x-forwarded-host"))
        .flatten()
        .or_else(|| header(HOST.as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| server.listen.to_string());
    let authority: Authority = host.parse().map_err(|_| {
        GatewayError::BadRequest(format!("Host '{host}' is not a valid host[:port]"))
    })?;
    if authority.as_str().contains('@') {
        return Err(GatewayError::BadRequest(
            "Host must not carry user information".into(),
        ));
    }
    let authority = authority.as_str().to_ascii_lowercase();
    Ok(format!("{proto}://{authority}/fhir"))
}
