//! Which headers cross the adapter, in each direction (allow-lists, not deny-lists).
//!
//! Requests: only the FHIR headers of the FHIR R4 RESTful API ("HTTP Headers" table in http.html) — Accept,
//! Content-Type, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer — plus
//! `X-Forwarded-For/Proto/Host` and `X-Request-Id` set by us. Never the client's
//! `Authorization`: the upstream gets the adapter's own token.
//!
//! Responses: only the entity and caching headers a FHIR client uses. Everything else is
//! dropped, which removes hop-by-hop headers (RFC 9110 §7.6.1: Connection, Keep-Alive,
//! Transfer-Encoding, TE, Trailer, Upgrade, Proxy-*), `Server`, `X-Powered-By`, and server
//! control headers such as `HAPI-*` and `X-Progress`.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::rewrite::{Base, rewrite};
use crate::FhirRequest;

/// Request headers forwarded when the client sent them (lower-case names).
pub const REQUEST_ALLOW_LIST: [&str; 7] = crate::interaction::FHIR_REQUEST_HEADERS;

/// Response headers passed back to the client (lower-case names). `Content-Length` is kept
/// only for streamed bodies; buffered bodies get theirs from the gateway.
pub const RESPONSE_ALLOW_LIST: [&str; 16] = [
    "content-type",
    "content-encoding",
    "content-language",
    "content-disposition",
    "content-location",
    "location",
    "etag",
    "last-modified",
    "cache-control",
    "expires",
    "vary",
    "retry-after",
    "allow",
    "accept-patch",
    "preference-applied",
    "content-length",
];

/// The headers sent upstream for `request`: the allow-listed FHIR headers plus
/// `X-Forwarded-For` (client IP), `X-Forwarded-Proto`/`X-Forwarded-Host` (from the public
/// base) and `X-Request-Id`.
pub fn request_headers(request: &FhirRequest, public: Option<&Base>) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in &request.headers {
        if REQUEST_ALLOW_LIST.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    if let Some(ip) = request.client_ip {
        set("x-forwarded-for", &ip.to_string());
    }
    if let Some(public) = public {
        set("x-forwarded-proto", public.scheme());
        set("x-forwarded-host", public.authority());
    }
    if !request.request_id.is_empty() {
        set("x-request-id", &request.request_id);
    }
    out
}

/// The upstream response headers passed back: allow-listed, with `Location` and
/// `Content-Location` rewritten from the `upstream` base to the `public` one.
/// `streamed` says whether the body is passed through unchanged (keeps `Content-Length`).
pub fn response_headers(
    upstream_headers: &HeaderMap,
    streamed: bool,
    upstream: &Base,
    public: Option<&Base>,
) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in upstream_headers {
        let n = name.as_str();
        if !RESPONSE_ALLOW_LIST.contains(&n) || (n == "content-length" && !streamed) {
            continue;
        }
        let rewritten = if name == header::LOCATION || name == header::CONTENT_LOCATION {
            value
                .to_str()
                .ok()
                .zip(public)
                .and_then(|(v, public)| rewrite(v, upstream, public))
                .and_then(|v| HeaderValue::from_str(&v).ok())
        } else {
            None
        };
        out.append(name.clone(), rewritten.unwrap_or_else(|| value.clone()));
    }
    out
}
