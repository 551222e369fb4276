//! A restricted caller's instance history (FHIR R4 http.html §3.1.0.9 history), answered
//! the same way whether sent alone ([`super::protect`]) or as an entry of a batch
//! ([`super::bundle_history`]; §3.1.0.11.1: each entry is processed as if sent alone):
//!
//! 1. the adapter's page goes through the post-filter, which drops the versions outside
//!    the caller's reach, and the deletions ending a version the caller is shown are put
//!    back ([`super::history_deletes`]);
//! 2. a page left without entries but with a `next` link is answered as the first later
//!    page that holds one ([`super::history_pages::first_shown`]), under the request's own
//!    `self` link: a page of versions the caller may not see is skipped, as the `next`
//!    links skip it, so `_count=1` on a resource whose newest versions are withheld shows
//!    the caller's version (attack finding MEDIUM 7: it answered 404 for `_count` below
//!    the number of withheld versions, which counted them);
//! 3. `next` leads only to pages holding an entry ([`super::history_pages::relink`]);
//! 4. a page still without entries answers 404 as a read of a withheld resource does, and
//!    `If-None-Match` is answered by the gateway ([`super::conditional::finish`]); but when
//!    `_since` (or `_at`, `_list`) left no version of a resource whose whole history does
//!    show the caller one, the empty page is the answer (§3.1.0.9: the parameters only
//!    narrow the versions listed), as for any other caller.

use std::future::Future;

use bytes::Bytes;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::header;
use serde_json::Value;

use super::access::Subject;
use super::page_links::{link, relation};
use super::{conditional, filter, history_deletes, history_pages};
use crate::error::GatewayError;
use crate::state::AppState;

/// Answers `request` (an authorized instance history of a restricted `subject`), asking
/// the adapter through `next`.
pub(super) async fn answer<F, Fut>(
    state: &AppState,
    subject: &Subject,
    mut request: FhirRequest,
    next: F,
) -> Result<FhirResponse, GatewayError>
where
    F: FnOnce(FhirRequest) -> Fut,
    Fut: Future<Output = Result<FhirResponse, GatewayError>>,
{
    let if_none_match = conditional::take(&mut request);
    let history = request.clone();
    let answer = next(request).await?;
    let answer = shown(state, subject, &history, answer).await?;
    if !answer.status.is_success() {
        // An error the adapter answered (400 for a malformed `_count`, `_cursor` or
        // `_since`) reaches the caller as it is, as for any other caller.
        return Ok(answer);
    }
    let (page, answer) = skip_hidden(state, subject, &history, answer).await?;
    let answer = history_pages::relink(state, subject, &page, answer).await?;
    if narrows_versions(&history)
        && is_empty(&answer)
        && shows_a_version(state, subject, &history).await?
    {
        // The caller's own resource, no version in the range asked: the empty page itself.
        // Not `HistoryInstance`: its rule (an empty page is 404) is for a resource the
        // caller is not shown; `If-None-Match` is still answered.
        return conditional::finish(Interaction::HistoryType, if_none_match, answer);
    }
    conditional::finish(Interaction::HistoryInstance, if_none_match, answer)
}

/// The history parameters that narrow which versions are listed (FHIR R4 http.html
/// §3.1.0.9: `_since`, `_at`, `_list`); `_count` and the paging cursor only cut pages.
const NARROWING: [&str; 3] = ["_since", "_at", "_list"];

fn narrows_versions(request: &FhirRequest) -> bool {
    request
        .query
        .iter()
        .any(|(k, _)| NARROWING.contains(&k.as_str()))
}

/// Whether `answer` is a Bundle holding no entry.
fn is_empty(answer: &FhirResponse) -> bool {
    let ResponseBody::Full(bytes) = &answer.body else {
        return false;
    };
    answer.status.is_success()
        && serde_json::from_slice::<Value>(bytes).is_ok_and(|b| {
            b.get("resourceType").and_then(Value::as_str) == Some("Bundle")
                && b.get("entry")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
        })
}

/// Whether the whole history of `request`'s resource (no narrowing parameter, from its
/// newest version) shows the caller a version, as [`history_pages::first_shown`] pages it:
/// then a range without versions is an empty page (attack finding LOW N4: it answered 404
/// where any other caller gets an empty `history` Bundle), and a resource that shows none
/// (another patient's, or no such id) still answers 404 whatever the range, as alone.
async fn shows_a_version(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
) -> Result<bool, GatewayError> {
    let (Some(rt), Some(id)) = (request.resource_type.as_deref(), request.id.as_deref()) else {
        return Ok(false);
    };
    let whole = format!(
        "{}/{rt}/{id}/_history",
        request.base_url.trim_end_matches('/')
    );
    Ok(history_pages::first_shown(state, subject, request, whole)
        .await?
        .is_some())
}

/// The adapter's `answer` to `request` after the post-filter, with the deletions the
/// caller is shown put back.
async fn shown(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    answer: FhirResponse,
) -> Result<FhirResponse, GatewayError> {
    // Deletions have no resource to check: kept aside for `history_deletes`.
    let unfiltered = match &answer.body {
        ResponseBody::Full(bytes) => Some(bytes.clone()),
        ResponseBody::Stream(_) => None,
    };
    let answer = filter::filter(subject, answer, None).await?;
    match unfiltered {
        Some(unfiltered) if answer.status.is_success() => {
            history_deletes::restore(state, subject, request, &unfiltered, answer).await
        }
        _ => Ok(answer),
    }
}

/// When `answer` (the shown page of `request`) holds no entry but links a `next` page: the
/// first later page holding one, shown, under `answer`'s `self` link, with the request
/// for that page. Otherwise `request` and `answer` as they are.
async fn skip_hidden(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    answer: FhirResponse,
) -> Result<(FhirRequest, FhirResponse), GatewayError> {
    let bundle = match &answer.body {
        ResponseBody::Full(bytes) => serde_json::from_slice::<Value>(bytes).ok(),
        ResponseBody::Stream(_) => None,
    };
    let Some(bundle) = bundle.filter(|b| {
        b.get("entry")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    }) else {
        return Ok((request.clone(), answer));
    };
    let (Some(next), Some(rt), Some(id)) = (
        link(&bundle, "next"),
        request.resource_type.as_deref(),
        request.id.as_deref(),
    ) else {
        return Ok((request.clone(), answer));
    };
    let Some(url) = history_pages::first_shown(state, subject, request, next.to_owned()).await?
    else {
        return Ok((request.clone(), answer));
    };
    let (Some(query), Some(adapter)) = (
        history_pages::history_query(&url, &request.base_url, rt, id),
        state
            .route(Some(rt), Interaction::HistoryInstance)
            .and_then(|a| a.first()),
    ) else {
        return Ok((request.clone(), answer));
    };
    let mut page = request.clone();
    page.query = query;
    page.raw_query = None;
    let found = adapter.handle(page.clone()).await?;
    let found = shown(state, subject, &page, found).await?;
    let ResponseBody::Full(bytes) = &found.body else {
        return Ok((page, found));
    };
    let (Ok(mut found_bundle), Some(own)) = (
        serde_json::from_slice::<Value>(bytes),
        bundle
            .get("link")
            .and_then(Value::as_array)
            .and_then(|ls| ls.iter().find(|l| relation(l) == Some("self"))),
    ) else {
        return Ok((page, found));
    };
    // The page answers the caller's own URL: its `self` is that URL.
    let mut links: Vec<Value> = found_bundle
        .get("link")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| relation(l) != Some("self"))
        .cloned()
        .collect();
    links.insert(0, own.clone());
    found_bundle["link"] = Value::Array(links);
    let FhirResponse {
        status,
        mut headers,
        ..
    } = found;
    headers.remove(header::CONTENT_LENGTH);
    Ok((
        page,
        FhirResponse {
            status,
            headers,
            body: ResponseBody::Full(Bytes::from(found_bundle.to_string())),
        },
    ))
}
