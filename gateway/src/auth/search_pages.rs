//! Paging a restricted caller's search when the adapter paged over every match (FHIR R4
//! search.html §3.1.1.6 paging, bundle.html `Bundle.link`; SMART App Launch 2.x §3).
//!
//! On a type outside the Patient compartment the post-filter drops the matches naming
//! other patients page by page. The embedded store pages over the visible matches only
//! ([`fhirgate_adapters::interaction::Visibility`]); an adapter that cannot (the `fhir`
//! adapter in front of another server) answers pages the filter may leave empty, and an
//! empty page with a `next` link tells the caller that resources it may not see exist.
//! For such answers, as for instance history ([`super::history_pages`]), the gateway
//! follows the `next` chain itself (through the route's adapter, as the caller), at most
//! [`MAX_LOOKAHEAD`] pages:
//! - a page left without a match shows instead the first later page holding one (or, when
//!   none does, it is the last page: no `next`);
//! - `next` leads to the first later page holding a match, and is left out when none does,
//!   when the chain is longer, or when a link is not a search under the gateway's base;
//! - other paging relations (`previous`, `first`, `last`) could lead to pages left empty
//!   and are left out; `self` is the request itself.
//!
//! A page may still hold fewer matches than `_count` (the rest were another patient's):
//! merging pages would need the adapter's positions inside them, which another server's
//! opaque links do not give.

use bytes::Bytes;
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::{Method, StatusCode, header};
use serde_json::{Value, json};

use super::access::Subject;
use super::filter::filter_bundle;
use super::page_links::{MAX_LOOKAHEAD, link, relation};
use crate::error::GatewayError;
use crate::state::AppState;

/// Largest later page read, in bytes (as much as the post-filter buffers).
const MAX_PAGE_BYTES: usize = 256 << 20;

/// Rewrites `answer` (the filtered searchset answering `request`, a type search by a
/// restricted `subject` that the adapter paged over every match) so that it is not an
/// empty page followed by others, and each of its links leads to a page with a match.
pub async fn relink(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    answer: FhirResponse,
) -> Result<FhirResponse, GatewayError> {
    let FhirResponse {
        status,
        mut headers,
        body,
    } = answer;
    let bundle = match (&body, status) {
        (ResponseBody::Full(bytes), StatusCode::OK) => serde_json::from_slice::<Value>(bytes).ok(),
        _ => None,
    };
    let Some(mut page) = bundle.filter(|b| {
        b.get("type").and_then(Value::as_str) == Some("searchset")
            && links(b).iter().any(|l| relation(l) != Some("self"))
    }) else {
        return Ok(FhirResponse {
            status,
            headers,
            body,
        });
    };
    let mut next = next_url(&page);
    if matches(&page) == 0
        && let Some(url) = next.take()
        && let Some((_, shown)) = first_shown(state, subject, request, url).await?
    {
        page["entry"] = shown.get("entry").cloned().unwrap_or_else(|| json!([]));
        next = next_url(&shown);
    }
    let next = match next {
        Some(url) => first_shown(state, subject, request, url)
            .await?
            .map(|(url, _)| url),
        None => None,
    };
    let mut kept: Vec<Value> = links(&page)
        .iter()
        .filter(|l| relation(l) == Some("self"))
        .cloned()
        .collect();
    kept.extend(next.map(|url| json!({"relation": "next", "url": url})));
    page["link"] = Value::Array(kept);
    if let Some(map) = page.as_object_mut() {
        map.remove("total");
    }
    headers.remove(header::CONTENT_LENGTH);
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(page.to_string())),
    })
}

fn links(bundle: &Value) -> Vec<Value> {
    bundle
        .get("link")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn next_url(bundle: &Value) -> Option<String> {
    link(bundle, "next").map(str::to_owned)
}

/// The number of `match` entries of a searchset (an entry without `search.mode` counts).
fn matches(bundle: &Value) -> usize {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.get("resource").is_some()
                && e.pointer("/search/mode")
                    .and_then(Value::as_str)
                    .is_none_or(|m| m == "match")
        })
        .count()
}

/// Follows `url` and the `next` links after it: the first page URL whose page, filtered
/// for `subject`, holds a match, with that filtered page; `None` when there is none within
/// [`MAX_LOOKAHEAD`] pages.
async fn first_shown(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    mut url: String,
) -> Result<Option<(String, Value)>, GatewayError> {
    for _ in 0..MAX_LOOKAHEAD {
        let Some(mut page) = fetch(state, request, &url).await? else {
            return Ok(None);
        };
        filter_bundle(subject, &mut page);
        if matches(&page) > 0 {
            return Ok(Some((url, page)));
        }
        match next_url(&page) {
            Some(next) => url = next,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The searchset at `url` (a search of the request's type, or a system-level paging link
/// such as `?_getpages=`, under the request's base), read through the adapter the request's
/// route sends it to, as the request's caller; `None` for any other URL or answer.
async fn fetch(
    state: &AppState,
    from: &FhirRequest,
    url: &str,
) -> Result<Option<Value>, GatewayError> {
    let Some(rt) = from.resource_type.as_deref() else {
        return Ok(None);
    };
    let Some(rest) = url.strip_prefix(from.base_url.trim_end_matches('/')) else {
        return Ok(None);
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix('/').unwrap_or(path);
    let Ok(target) = parse_target(&Method::GET, path) else {
        return Ok(None);
    };
    let same_search = match target.interaction {
        Interaction::SearchType => target.resource_type.as_deref() == Some(rt),
        Interaction::SearchSystem => true,
        _ => false,
    };
    let Some(adapter) = state
        .route(Some(rt), Interaction::SearchType)
        .and_then(|a| a.first())
        .filter(|_| same_search)
    else {
        return Ok(None);
    };
    let mut request = FhirRequest::new(Method::GET, target, from.base_url.clone());
    request.query = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    request.raw_query = Some(query.to_owned());
    request.request_id = from.request_id.clone();
    request.principal = from.principal.clone();
    request.client_ip = from.client_ip;
    let answer = adapter.handle(request).await?;
    if answer.status != StatusCode::OK {
        return Ok(None);
    }
    let Ok(bytes) = answer.body.collect(MAX_PAGE_BYTES).await else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("searchset")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_match_entries_with_a_resource_count() {
        let page = json!({"entry": [
            {"resource": {"resourceType": "Device"}, "search": {"mode": "match"}},
            {"resource": {"resourceType": "Device"}},
            {"resource": {"resourceType": "Patient"}, "search": {"mode": "include"}},
            {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
            {"fullUrl": "urn:x"}
        ]});
        assert_eq!(matches(&page), 2);
        assert_eq!(matches(&json!({"entry": []})), 0);
        assert_eq!(matches(&json!({})), 0);
    }
}
