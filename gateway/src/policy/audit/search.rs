//! `GET /fhir/AuditEvent?date=&patient=&agent=&action=` answered from the audit sink
//! itself (records are not mirrored into the FHIR store: the chained trail stays the one
//! source of truth). Needs a token granting `system/AuditEvent.rs` (SMART v2) or
//! `system/AuditEvent.read` (v1), or the same on `*`. Results newest first, `_count`
//! (default 100, at most 1000) per page from `_offset` (default 0), with `first`,
//! `previous` and `next` links (FHIR R4 search.html "Paging"). New matching records
//! arriving between pages shift the offsets (newest first).

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fhirgate_conformance::IssueCode;
use serde_json::{Value, json};

use super::AuditTrail;
use super::event::Index;
use crate::edge::public_base;
use crate::error::{FHIR_JSON, outcome};
use crate::policy::principal::Caller;
use crate::state::AppState;

/// Whether `scopes` allow searching AuditEvent at the system level (SMART App Launch 2.x §3).
pub fn grants_search(scopes: &[String]) -> bool {
    grants(scopes, 's')
}

/// Whether `scopes` allow reading an AuditEvent at the system level (`r`, v1 `read`).
pub fn grants_read(scopes: &[String]) -> bool {
    grants(scopes, 'r')
}

/// Whether some `system/AuditEvent` (or `system/*`) scope grants `permission` (v2 letters;
/// v1 `read` and `*` grant reading and searching).
fn grants(scopes: &[String], permission: char) -> bool {
    scopes.iter().any(|s| {
        let Some(rest) = s.strip_prefix("system/") else {
            return false;
        };
        let Some((rt, perm)) = rest.split_once('.') else {
            return false;
        };
        let perm = perm.split('?').next().unwrap_or("");
        (rt == "AuditEvent" || rt == "*")
            && (perm == "read"
                || perm == "*"
                || (perm.contains(permission) && perm.chars().all(|c| "cruds".contains(c))))
    })
}

/// 405 for anything but reading and searching AuditEvent: records come only from the
/// gateway's own trail (`Allow: GET`, RFC 9110 §15.5.6).
pub fn read_only() -> Response {
    let mut response = outcome(
        StatusCode::METHOD_NOT_ALLOWED,
        IssueCode::NotSupported,
        "AuditEvent is read-only: records are written by the gateway's audit trail only (read, search)",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// `GET /fhir/AuditEvent/{id}`: the record from the trail (403 without the scope, 404 when
/// the trail holds no record with that id).
pub async fn read(trail: &Arc<AuditTrail>, caller: &Caller, id: &str) -> Response {
    let scopes = caller
        .principal
        .as_ref()
        .map(|p| p.scopes.as_slice())
        .unwrap_or_default();
    if !grants_read(scopes) {
        return outcome(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            "reading AuditEvent needs the scope system/AuditEvent.r",
        );
    }
    let rows = match trail.sink.lock().await.search_rows(&[]).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "audit read failed");
            return outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                IssueCode::Transient,
                "the audit trail is unavailable",
            );
        }
    };
    // Only records whose text holds the id are parsed to compare it.
    let found = rows.into_iter().find_map(|(_, text)| {
        if id.is_empty() || !text.contains(id) {
            return None;
        }
        let value: Value = serde_json::from_str(&text).ok()?;
        (value["id"] == id).then_some(text)
    });
    match found {
        Some(text) => {
            let mut response = (StatusCode::OK, text).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
            response
        }
        None => outcome(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            "resource not found",
        ),
    }
}

/// One search parameter's test.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `date=[prefix]VALUE` on `recorded` (eq, ne, lt, le, gt, ge; truncated to VALUE's precision).
    Date(String, String),
    /// `patient=Patient/ID` or `ID`.
    Patient(String),
    /// `agent=` a client id or a `Type/id` user reference.
    Agent(String),
    /// `action=C|R|U|D|E`.
    Action(String),
}

/// Which page of the results: `_count` entries from `_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Entries per page (`_count`, default 100, at most 1000).
    pub count: usize,
    /// Matches skipped before the page (`_offset`, default 0).
    pub offset: usize,
}

/// Parses the query; `Err` names an unsupported parameter.
pub fn parse(query: &[(String, String)]) -> Result<(Vec<Filter>, Page), String> {
    let mut filters = Vec::new();
    let mut count = 100;
    let mut offset = 0;
    for (k, v) in query {
        match k.as_str() {
            "date" => {
                let (prefix, value) = match v.get(..2) {
                    Some(p @ ("eq" | "ne" | "lt" | "le" | "gt" | "ge")) => {
                        (p.to_owned(), v[2..].to_owned())
                    }
                    _ => ("eq".to_owned(), v.clone()),
                };
                if !is_utc_date_prefix(&value) {
                    return Err(format!(
                        "date '{value}' is not a FHIR date or UTC dateTime (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[.fff]Z)"
                    ));
                }
                filters.push(Filter::Date(prefix, value));
            }
            "patient" => {
                let p = if v.contains('/') {
                    v.clone()
                } else {
                    format!("Patient/{v}")
                };
                filters.push(Filter::Patient(p));
            }
            "agent" => filters.push(Filter::Agent(v.clone())),
            "action" => filters.push(Filter::Action(v.clone())),
            "_count" => {
                count = v
                    .parse::<usize>()
                    .map_err(|_| "_count must be a number".to_owned())?
                    .min(1000)
            }
            "_offset" => {
                offset = v
                    .parse::<usize>()
                    .map_err(|_| "_offset must be a non-negative number".to_owned())?;
            }
            "_format" => {}
            other => {
                return Err(format!(
                    "AuditEvent search does not support '{other}' (date, patient, agent, action, _count, _offset)"
                ));
            }
        }
    }
    Ok((filters, Page { count, offset }))
}

/// Whether `value` is a date the string comparison with `AuditEvent.recorded` (UTC, `Z`)
/// can decide: a FHIR R4 date (§2.24.0.1 `date`) or a dateTime to the second in UTC, with an
/// optional fraction.
fn is_utc_date_prefix(value: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    let bytes = value.as_bytes();
    let (head, tail) = bytes.split_at(bytes.len().min(SHAPE.len()));
    let shaped = head.iter().zip(SHAPE).all(|(c, s)| match s {
        b'd' => c.is_ascii_digit(),
        other => c == other,
    });
    let whole_part = matches!(head.len(), 4 | 7 | 10 | 19);
    let tail_ok = match tail {
        [] => head.len() < SHAPE.len(),
        [b'Z'] => true,
        [b'.', rest @ .., b'Z'] => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    shaped && whole_part && tail_ok
}

/// Whether a record with `index` matches every filter (values of one parameter: OR on commas).
pub fn matches(index: &Index, filters: &[Filter]) -> bool {
    filters.iter().all(|f| match f {
        Filter::Date(prefix, value) => {
            let have = index.recorded.get(..value.len()).unwrap_or(&index.recorded);
            match prefix.as_str() {
                "ne" => have != value,
                "lt" => have < value.as_str(),
                "le" => have <= value.as_str(),
                "gt" => have > value.as_str(),
                "ge" => have >= value.as_str(),
                _ => have == value,
            }
        }
        Filter::Patient(p) => p.split(',').any(|p| index.patients.iter().any(|x| x == p)),
        Filter::Agent(a) => a.split(',').any(|a| index.agents.iter().any(|x| x == a)),
        Filter::Action(a) => a.split(',').any(|a| index.action == a),
    })
}

/// Answers the search (403 without the scope, 400 for unsupported parameters).
pub async fn answer(
    state: &AppState,
    trail: &Arc<AuditTrail>,
    caller: &Caller,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let scopes = caller
        .principal
        .as_ref()
        .map(|p| p.scopes.as_slice())
        .unwrap_or_default();
    if !grants_search(scopes) {
        return outcome(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            "searching AuditEvent needs the scope system/AuditEvent.rs",
        );
    }
    let query = match crate::edge::query::parse(uri.query().unwrap_or("").as_bytes()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let (filters, page) = match parse(&query) {
        Ok(p) => p,
        Err(e) => return outcome(StatusCode::BAD_REQUEST, IssueCode::NotSupported, e),
    };
    let base = match public_base(&state.config.server, headers) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let rows = match trail.sink.lock().await.search_rows(&filters).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "audit search failed");
            return outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                IssueCode::Transient,
                "the audit trail is unavailable",
            );
        }
    };
    let matched: Vec<Value> = rows
        .into_iter()
        .filter(|(index, _)| matches(index, &filters))
        .filter_map(|(_, text)| serde_json::from_str::<Value>(&text).ok())
        .collect();
    let total = matched.len();
    let entries: Vec<Value> = matched
        .into_iter()
        .skip(page.offset)
        .take(page.count)
        .map(|r| {
            let id = r["id"].as_str().unwrap_or("").to_owned();
            json!({"fullUrl": format!("{base}/AuditEvent/{id}"), "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let self_link = match uri.query() {
        Some(q) => format!("{base}/AuditEvent?{q}"),
        None => format!("{base}/AuditEvent"),
    };
    let mut links = vec![json!({"relation": "self", "url": self_link})];
    let at = |offset: usize| page_url(&base, &query, offset);
    links.push(json!({"relation": "first", "url": at(0)}));
    if page.offset > 0 {
        let previous = page.offset.saturating_sub(page.count);
        links.push(json!({"relation": "previous", "url": at(previous)}));
    }
    if page.count > 0 && page.offset + page.count < total {
        links.push(json!({"relation": "next", "url": at(page.offset + page.count)}));
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    });
    let mut response = (StatusCode::OK, bundle.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// The search URL for the page starting at `offset`: the same parameters, `_offset` set.
fn page_url(base: &str, query: &[(String, String)], offset: usize) -> String {
    let offset = offset.to_string();
    let pairs = query
        .iter()
        .filter(|(k, _)| k != "_offset")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("_offset", offset.as_str())]);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}/AuditEvent?{query}")
}
