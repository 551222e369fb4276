//! Paging a restricted caller's instance history (FHIR R4 http.html §3.1.0.9 history,
//! bundle.html `Bundle.link`): every link handed out answers 200 with at least one entry.
//!
//! The post-filter drops the versions of a resource that are outside the caller's reach
//! (e.g. an Observation that named patient B before it was corrected to name A), and an
//! instance history page left without entries answers 404, as a read of a withheld resource
//! does ([`super::conditional::finish`]). A `next` link from the adapter can lead to such a
//! page, so before the answer leaves ([`super::history`]), the gateway follows the `next`
//! chain itself (through the route's adapter, as the caller) to the first page holding an
//! entry the caller may see, and hands out that page's URL as `next`; when no later page
//! holds one, when the chain is longer than [`MAX_LOOKAHEAD`] pages, or when a link is not
//! this resource's history under the gateway's base, `next` is left out (a page holding
//! only a deletion of a version the caller is shown counts as holding an entry:
//! [`super::history_deletes`]). A first page left without entries is answered as that
//! page in the same way. Other paging relations (`previous`, `first`, `last`) could lead
//! to withheld pages too and are left out; `self` is the request itself.

use bytes::Bytes;
use fhirgate_adapters::interaction::Target;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::header;
use serde_json::Value;

use super::access::Subject;
use super::filter::visible;
use super::lookup::internal;
use super::page_links::{MAX_LOOKAHEAD, link, relation};
use crate::error::GatewayError;
use crate::state::AppState;

/// Rewrites the links of `answer` (the filtered answer to `request`, an instance history by
/// a restricted `subject`) so that each leads to a page the caller is shown.
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
    let bundle = match &body {
        ResponseBody::Full(bytes) => serde_json::from_slice::<Value>(bytes).ok(),
        ResponseBody::Stream(_) => None,
    };
    // A page left without entries answers 404 anyway (`conditional::finish`): no look-ahead.
    let Some(mut bundle) = bundle.filter(|b| {
        b.get("entry")
            .and_then(Value::as_array)
            .is_some_and(|es| !es.is_empty())
            && b.get("link")
                .and_then(Value::as_array)
                .is_some_and(|ls| ls.iter().any(|l| relation(l) != Some("self")))
    }) else {
        return Ok(FhirResponse {
            status,
            headers,
            body,
        });
    };
    let links = bundle["link"].as_array().cloned().unwrap_or_default();
    let next = links
        .iter()
        .find(|l| relation(l) == Some("next"))
        .and_then(|l| l.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut kept: Vec<Value> = links
        .iter()
        .filter(|l| relation(l) == Some("self"))
        .cloned()
        .collect();
    if let Some(next) = next
        && let Some(url) = first_shown(state, subject, request, next).await?
    {
        kept.push(serde_json::json!({"relation": "next", "url": url}));
    }
    bundle["link"] = Value::Array(kept);
    headers.remove(header::CONTENT_LENGTH);
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(bundle.to_string())),
    })
}

/// Follows `url` and the `next` links after it: the first page URL whose page holds an
/// entry `subject` is shown, `None` when there is none within [`MAX_LOOKAHEAD`] pages.
/// Also the page a first page without entries is answered as (`super::history`).
pub(super) async fn first_shown(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    mut url: String,
) -> Result<Option<String>, GatewayError> {
    let (Some(rt), Some(id)) = (request.resource_type.as_deref(), request.id.as_deref()) else {
        return Ok(None);
    };
    for _ in 0..MAX_LOOKAHEAD {
        let Some(query) = history_query(&url, &request.base_url, rt, id) else {
            return Ok(None);
        };
        let target = Target {
            interaction: Interaction::HistoryInstance,
            resource_type: Some(rt.to_owned()),
            id: Some(id.to_owned()),
            version_id: None,
            operation: None,
        };
        let Some(page) = internal(state, request, target, query, false).await? else {
            return Ok(None);
        };
        if shows_an_entry(subject, rt, &page)
            || super::history_deletes::shows_a_deletion(state, subject, request, &page).await?
        {
            return Ok(Some(url));
        }
        match link(&page, "next") {
            Some(next) => url = next.to_owned(),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Whether `page` (a history Bundle of `rt`) holds an entry the post-filter keeps.
fn shows_an_entry(subject: &Subject, rt: &str, page: &Value) -> bool {
    page.get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
        .any(|r| {
            r.get("resourceType").and_then(Value::as_str) == Some(rt) && visible(subject, rt, r)
        })
}

/// The query of `url` when it is `{base}/{rt}/{id}/_history[?query]`, else `None`.
pub(super) fn history_query(
    url: &str,
    base: &str,
    rt: &str,
    id: &str,
) -> Option<Vec<(String, String)>> {
    let rest = url
        .strip_prefix(base.trim_end_matches('/'))?
        .strip_prefix(&format!("/{rt}/{id}/_history"))?;
    let query = match rest.strip_prefix('?') {
        Some(q) => q,
        None if rest.is_empty() => "",
        None => return None,
    };
    Some(
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_resources_history_under_the_base_is_followed() {
        let base = "http://g/fhir";
        assert_eq!(
            history_query(
                "http://g/fhir/Observation/x/_history?_count=1&_cursor=7",
                base,
                "Observation",
                "x"
            ),
            Some(vec![
                ("_count".into(), "1".into()),
                ("_cursor".into(), "7".into())
            ])
        );
        assert_eq!(
            history_query(
                "http://g/fhir/Observation/x/_history",
                base,
                "Observation",
                "x"
            ),
            Some(vec![])
        );
        for other in [
            "http://g/fhir/Observation/y/_history?_cursor=7",
            "http://g/fhir/Observation/x/_history/2",
            "http://other/fhir/Observation/x/_history?_cursor=7",
            "http://g/fhir?_getpages=abc",
        ] {
            assert_eq!(
                history_query(other, base, "Observation", "x"),
                None,
                "{other}"
            );
        }
    }
}
