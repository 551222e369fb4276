//! Turns an HTTP request under `/fhir` into a [`FhirRequest`]: path → interaction, query,
//! body read within the limit, media types checked, JSON checked for well-formedness.

use std::net::IpAddr;

use axum::body::{Body, HttpBody};
use axum::http::{HeaderMap, Method, Request, header};
use bytes::Bytes;
use fhirgate_adapters::interaction::{FHIR_REQUEST_HEADERS, parse_target};
use fhirgate_adapters::{FhirRequest, Interaction};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;

use super::base::public_base;
use super::negotiate::{BodyKind, check_accept, check_content_type};
use crate::auth::Identity;
use crate::config::ServerConfig;
use crate::error::GatewayError;
use crate::policy::admission::head_denial;

/// The first members of a resource, read without building a tree.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
    id: Option<serde_json::Value>,
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
}

/// Builds the adapter request. `path` is the URI path below `/fhir` without slashes at
/// either end; `caller` is the validated token (`None` for `metadata`). Errors are the
/// client's: 400 (also for an `If-Match` or `If-None-Match` that does not parse:
/// [`super::entity_tags`]), 403 (a write the scopes cannot allow, refused before the body
/// is read: [`head_denial`]), 404, 405, 406, 413, 415.
pub async fn build(
    server: &ServerConfig,
    request: Request<Body>,
    path: &str,
    caller: Option<&Identity>,
    request_id: String,
    client_ip: Option<IpAddr>,
) -> Result<FhirRequest, GatewayError> {
    let (mut parts, body) = request.into_parts();
    let raw_query = parts.uri.query().map(str::to_owned);
    let mut query = super::query::parse(raw_query.as_deref().unwrap_or("").as_bytes())?;
    check_query_size(&query)?;
    let repaired = repair_offsets(&mut query);
    let format = query
        .iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v.as_str());
    check_accept(format, &parts.headers)?;
    let is_post_search =
        parts.method == Method::POST && (path == "_search" || path.ends_with("/_search"));
    let target = parse_target(&parts.method, path).map_err(|e| with_allow(e, path))?;
    let base_url = public_base(server, &parts.headers)?;
    // An `If-Match`/`If-None-Match` that does not parse is 400 for every caller, before the
    // scopes or any version are looked at; one sent on several lines becomes one list.
    super::entity_tags::check_and_fold(&mut parts.headers)?;
    // A create, update, patch or POST search the token's scopes cannot allow on the URL's
    // type is refused before its body is read (the admission layer reserved nothing for
    // it); what is malformed in its head stays 400 for every caller, as below.
    if let Some(denied) = caller
        .filter(|_| !HttpBody::is_end_stream(&body))
        .and_then(|identity| head_denial(identity, &parts.method, path))
    {
        check_declared_length(&parts.headers, server.body_limit.as_u64())?;
        if target.interaction == Interaction::Create {
            check_if_none_exist(&parts.headers)?;
        } else if target.id.is_none() {
            super::modifier::check(&query)?;
        }
        return Err(denied);
    }
    let body = read_body(body, &parts.headers, server.body_limit.as_u64()).await?;
    let kind = check_content_type(
        target.interaction,
        target.operation.as_deref(),
        is_post_search,
        &parts.headers,
        body.len(),
    )?;
    let mut headers = HeaderMap::new();
    // Only the headers FHIR defines reach adapters: never Authorization or cookies.
    for name in FHIR_REQUEST_HEADERS {
        for value in parts.headers.get_all(name) {
            headers.append(header::HeaderName::from_static(name), value.clone());
        }
    }
    let mut request = FhirRequest::new(parts.method, target, base_url);
    request.request_id = request_id;
    request.client_ip = client_ip;
    if kind == BodyKind::Form || is_post_search {
        // POST _search is answered as the equivalent GET search (FHIR R4 §3.1.0.9.2): the
        // form parameters join the query, so every later check sees all of them.
        query.extend(super::query::parse(&body)?);
        request.method = Method::GET;
        request.raw_query = None;
        headers.remove(header::CONTENT_TYPE);
    } else {
        request.raw_query = if repaired { None } else { raw_query };
        match kind {
            BodyKind::Json => check_json(&mut request, &body)?,
            BodyKind::JsonPatch => check_json_patch(&body)?,
            _ => {}
        }
        request.body = body;
    }
    // A search's modifiers are checked for every caller before authorization narrows it
    // (a malformed search is 400 for all, not 403 for some).
    if matches!(
        request.interaction,
        Interaction::SearchType | Interaction::SearchSystem
    ) || (matches!(
        request.interaction,
        Interaction::Update | Interaction::Patch | Interaction::Delete
    ) && request.id.is_none())
    {
        super::modifier::check(&query)?;
    }
    if request.interaction == Interaction::Create {
        check_if_none_exist(&headers)?;
    }
    request.query = query;
    request.headers = headers;
    Ok(request)
}

/// `If-None-Exist` (FHIR R4 §3.1.0.8) is a search: strictly decoded (RFC 3986 §2.5) and
/// its modifiers checked like a query's, for every caller. Err: 400 `invalid`.
fn check_if_none_exist(headers: &HeaderMap) -> Result<(), GatewayError> {
    let Some(value) = headers.get("if-none-exist") else {
        return Ok(());
    };
    let criteria = value.to_str().map_err(|_| {
        GatewayError::BadRequest("If-None-Exist is not a valid query (not ASCII)".into())
    })?;
    let criteria = criteria.split_once('?').map_or(criteria, |(_, q)| q);
    let named = |e: GatewayError| GatewayError::BadRequest(format!("If-None-Exist: {e}"));
    let pairs = super::query::parse(criteria.as_bytes()).map_err(named)?;
    super::modifier::check(&pairs).map_err(named)
}

/// A 405 names the methods the path does define in `Allow` (RFC 9110 §15.5.6).
fn with_allow(e: fhirgate_adapters::interaction::PathError, path: &str) -> GatewayError {
    let mut error = GatewayError::from(e);
    if let GatewayError::MethodNotAllowed { allow, .. } = &mut error {
        let methods = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ];
        *allow = methods
            .iter()
            .filter(|m| parse_target(m, path).is_ok())
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
    }
    error
}

/// Most query parameters a request may carry, and most comma-separated values in one;
/// more answers 400 rather than reaching the adapter (FHIR R4 §3.1.1.1 lets a server refuse
/// searches it cannot process). Real clients stay far below both.
const MAX_PARAMETERS: usize = 200;
const MAX_VALUES: usize = 200;

fn check_query_size(query: &[(String, String)]) -> Result<(), GatewayError> {
    if query.len() > MAX_PARAMETERS {
        return Err(GatewayError::BadRequest(format!(
            "{} query parameters; at most {MAX_PARAMETERS} are accepted",
            query.len()
        )));
    }
    if let Some((name, _)) = query
        .iter()
        .find(|(_, v)| v.split(',').count() > MAX_VALUES)
    {
        return Err(GatewayError::BadRequest(format!(
            "parameter {name} has more than {MAX_VALUES} comma-separated values"
        )));
    }
    Ok(())
}

/// A dateTime whose `+hh:mm` offset was sent with the `+` unencoded arrives form-decoded
/// with a space there (`ge2013-04-05T18:50:00 05:30`). That can only mean `+`, so it is
/// repaired (and the query re-encoded for the adapter) instead of searching for nonsense.
/// Returns whether anything changed.
fn repair_offsets(query: &mut [(String, String)]) -> bool {
    let mut changed = false;
    for (_, value) in query.iter_mut() {
        let bytes = value.as_bytes();
        let Some(t) = bytes.iter().position(|&b| b == b'T') else {
            continue;
        };
        let n = bytes.len();
        let offset_at = n.saturating_sub(6);
        let looks_like_date = t >= 10
            && bytes[t - 10..t].iter().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let space_offset = n >= t + 9
            && bytes[offset_at] == b' '
            && bytes[offset_at + 1..offset_at + 3]
                .iter()
                .all(u8::is_ascii_digit)
            && bytes[offset_at + 3] == b':'
            && bytes[offset_at + 4..].iter().all(u8::is_ascii_digit);
        if looks_like_date && space_offset {
            value.replace_range(offset_at..=offset_at, "+");
            changed = true;
        }
    }
    changed
}

async fn read_body(body: Body, headers: &HeaderMap, limit: u64) -> Result<Bytes, GatewayError> {
    check_declared_length(headers, limit)?;
    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(GatewayError::PayloadTooLarge { limit })
        }
        Err(e) => Err(GatewayError::BadRequest(format!(
            "request body could not be read: {e}"
        ))),
    }
}

/// 413 for a `Content-Length` over `limit`, before anything is read.
fn check_declared_length(headers: &HeaderMap, limit: u64) -> Result<(), GatewayError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > limit => Err(GatewayError::PayloadTooLarge { limit }),
        _ => Ok(()),
    }
}

/// Nested at most `fhirgate_conformance::depth::MAX_DEPTH` levels (400 `too-costly`),
/// well-formed JSON with no repeated property name ([`super::json_keys`]), the right
/// `resourceType`, matching ids; a Bundle POSTed to the base becomes a transaction or a
/// batch by its `type`.
fn check_json(request: &mut FhirRequest, body: &[u8]) -> Result<(), GatewayError> {
    if body.is_empty() {
        return Ok(());
    }
    // Nested no deeper than the post-filter reads back, for every caller and before any
    // adapter sees it (`fhirgate_conformance::depth`; a byte scan, nothing parsed).
    let limit = fhirgate_conformance::depth::MAX_DEPTH;
    if fhirgate_conformance::depth::text_deeper_than(body, limit) {
        return Err(GatewayError::TooDeep { limit });
    }
    // One pass over every JSON body: well-formed, and no object repeats a name.
    super::json_keys::check_unique_names(body).map_err(json_error)?;
    let head: Head = match request.interaction {
        Interaction::Create | Interaction::Update | Interaction::Batch => parse_head(body)?,
        _ => return Ok(()),
    };
    let resource_type = head.resource_type.as_deref();
    match request.interaction {
        Interaction::Batch => match (resource_type, head.kind.as_ref().and_then(|k| k.as_str())) {
            (Some("Bundle"), Some("transaction")) => request.interaction = Interaction::Transaction,
            (Some("Bundle"), Some("batch")) => {}
            _ => {
                return Err(GatewayError::BadRequest(
                    "POST to the base takes a Bundle of type batch or transaction".into(),
                ));
            }
        },
        _ => {
            let expected = request.resource_type.as_deref();
            if resource_type != expected {
                return Err(GatewayError::BadRequest(format!(
                    "resourceType {} does not match the URL's {}",
                    resource_type.unwrap_or("(missing)"),
                    expected.unwrap_or("(none)")
                )));
            }
            if let (Interaction::Update, Some(url_id)) =
                (request.interaction, request.id.as_deref())
            {
                let body_id = head.id.as_ref().and_then(|v| v.as_str());
                if body_id != Some(url_id) {
                    return Err(GatewayError::BadRequest(format!(
                        "update needs the resource id to equal the URL's id '{url_id}' (FHIR R4 §3.1.0.4)"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A JSON Patch body (RFC 6902) is checked like a resource's for well-formedness (400
/// `structure`) and repeated names (400 `invalid`, [`super::json_keys`]), for every caller
/// before anything reads it: RFC 6902 §4 reads an operation by its members (`op`, `path`,
/// `from`, `value`), and `{"op":"replace","path":"/subject/reference","path":"/status"}`
/// would be one operation to the gateway's patch check (`serde_json`: the last wins) and
/// another to an upstream that keeps the first (attack finding LOW N5). Whether it is a
/// JSON Patch at all is the store's and the write guard's question, as before.
fn check_json_patch(body: &[u8]) -> Result<(), GatewayError> {
    if body.is_empty() {
        return Ok(());
    }
    super::json_keys::check_unique_names(body).map_err(|e| {
        if e.is_data() {
            GatewayError::BadRequest(format!("body is not a valid JSON Patch document: {e}"))
        } else {
            json_error(e)
        }
    })
}

fn parse_head(body: &[u8]) -> Result<Head, GatewayError> {
    serde_json::from_slice::<Head>(body).map_err(json_error)
}

fn json_error(e: serde_json::Error) -> GatewayError {
    if e.is_data() {
        return GatewayError::BadRequest(format!("body is not a FHIR JSON resource: {e}"));
    }
    GatewayError::MalformedJson {
        line: e.line(),
        column: e.column(),
        detail: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unencoded_plus_in_a_date_offset_is_repaired_and_nothing_else_changes() {
        let mut q = vec![
            ("date".to_owned(), "ge2013-04-05T18:50:00 05:30".to_owned()),
            (
                "_lastUpdated".to_owned(),
                "2013-04-05T18:50:00.123 01:00".to_owned(),
            ),
            ("name".to_owned(), "van der Berg".to_owned()),
            ("date".to_owned(), "2013-04-05".to_owned()),
        ];
        assert!(super::repair_offsets(&mut q));
        assert_eq!(q[0].1, "ge2013-04-05T18:50:00+05:30");
        assert_eq!(q[1].1, "2013-04-05T18:50:00.123+01:00");
        assert_eq!(q[2].1, "van der Berg");
        assert_eq!(q[3].1, "2013-04-05");
        let mut ok = vec![("date".to_owned(), "ge2013-04-05T18:50:00+05:30".to_owned())];
        assert!(!super::repair_offsets(&mut ok));
    }
}
