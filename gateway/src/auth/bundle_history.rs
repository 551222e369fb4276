//! Instance-history entries (`GET [type]/[id]/_history`) of a restricted caller's batch or
//! transaction (FHIR R4 http.html §3.1.0.11.1: each entry is processed as if it were sent
//! alone; §3.1.0.9 history).
//!
//! Alone, such a history is filtered, its deletions and paging fixed, and a page left
//! without entries answers 404 ([`super::history`]). Forwarded inside a Bundle, the
//! adapter's history of another patient's resource came back as a `200` entry holding an
//! empty history Bundle (a made-up id: 404), with `next` links over every version and a
//! `total` only when nothing was withheld: the resource's existence, its versions and the
//! times of its writes (attack finding HIGH 1). So:
//! - in a **batch**, the gateway answers the entry in place, exactly as the same request
//!   alone is answered ([`answer_in_place`]); that answer is already filtered and is put
//!   back after the batch-response's own post-filter ([`put_back`]), which would drop the
//!   deletions the single path shows;
//! - in a **transaction** (one atomic answer from the adapter), the entry is refused: the
//!   caller reads the history on its own. It is refused by its shape and the token's
//!   scopes, before anything is read, so the refusal says nothing about the resource.
//!
//! A forwarded read answered `410 Gone` keeps that answer when the same read alone would
//! ([`gone_reads`]: the caller's own deleted resource), put back after the post-filter too.

use bytes::Bytes;
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::{Method, header};
use serde_json::{Value, json};

use super::access::{Grant, Subject};
use super::bundle_merge::refused_answer;
use super::bundle_parts::relative_url;
use super::bundle_search::batch_entry;
use crate::error::GatewayError;
use crate::state::AppState;

/// The instance history `entry` of a Bundle sent to `base` names (a request with its
/// query), when `subject` is restricted.
fn history_entry(subject: &Subject, base: &str, entry: &Value) -> Option<FhirRequest> {
    get_entry(subject, base, entry, Interaction::HistoryInstance)
}

/// The GET of `interaction` that `entry` names, when `subject` is restricted.
pub(super) fn get_entry(
    subject: &Subject,
    base: &str,
    entry: &Value,
    interaction: Interaction,
) -> Option<FhirRequest> {
    if subject.sees_everything() {
        return None;
    }
    if !matches!(
        entry.pointer("/request/method").and_then(Value::as_str)?,
        "GET" | "HEAD"
    ) {
        return None;
    }
    let url = entry.pointer("/request/url").and_then(Value::as_str)?;
    let relative = relative_url(url, base)?;
    let (path, query) = relative.split_once('?').unwrap_or((relative.as_str(), ""));
    let target = parse_target(&Method::GET, path.trim_matches('/')).ok()?;
    if target.interaction != interaction {
        return None;
    }
    let mut request = FhirRequest::new(Method::GET, target, base);
    request.query = crate::edge::query::parse(query.as_bytes()).ok()?;
    request.raw_query = Some(query.to_owned());
    Some(request)
}

/// Whether the transaction entry `entry` is such a history (refused: see the module docs),
/// of a type the post-filter may thin out: not when some grant of `subject` on the type
/// reaches every patient without a granular restriction (the filter then keeps every
/// version, as for a caller that sees everything).
pub(super) fn refused_in_transaction(subject: &Subject, base: &str, entry: &Value) -> bool {
    history_entry(subject, base, entry).is_some_and(|h| {
        !subject
            .any_grants(h.resource_type.as_deref().unwrap_or_default())
            .iter()
            .any(Grant::is_unrestricted)
    })
}

/// For the (authorized) batch entry `entry` of `batch`: its `batch-response` entry, as the
/// same request alone is answered, when it is such a history; `None` for any other entry.
pub(super) async fn answer_in_place(
    state: &AppState,
    subject: &Subject,
    batch: &FhirRequest,
    entry: &Value,
) -> Result<Option<Value>, GatewayError> {
    let Some(mut history) = history_entry(subject, &batch.base_url, entry) else {
        return Ok(None);
    };
    let Some(adapter) = state
        .route(
            history.resource_type.as_deref(),
            Interaction::HistoryInstance,
        )
        .and_then(|a| a.first())
    else {
        return Ok(None);
    };
    history.principal = batch.principal.clone();
    history.request_id = batch.request_id.clone();
    history.client_ip = batch.client_ip;
    let answered = super::history::answer(state, subject, history, |r| async move {
        Ok(adapter.handle(r).await?)
    })
    .await;
    Ok(Some(match answered {
        Ok(answer) => batch_entry(answer).await?,
        // A 404 for a history left empty, a 403 for an answer the filter cannot check:
        // the entry's answer, as alone.
        Err(e) => refused_answer(&e),
    }))
}

/// The read (`GET [type]/[id]`) batch entry `entry` names, when `subject` is restricted:
/// kept to answer its `410 Gone` as alone ([`gone_reads`]).
pub(super) fn read_entry(subject: &Subject, base: &str, entry: &Value) -> Option<FhirRequest> {
    get_entry(subject, base, entry, Interaction::Read)
}

/// For the `reads` (slot index, request) of a restricted caller's batch: each `410 Gone`
/// entry of `answer` (the text of the merged batch-response, before the post-filter, which
/// makes every 410 a 404) that the same read alone would answer 410, as it is
/// (`history_deletes::gone_shown`: the caller's own deleted resource; FHIR R4 http.html
/// §3.1.0.2), is added to `held`, to be put back after the post-filter.
pub(super) async fn gone_reads(
    state: &AppState,
    subject: &Subject,
    answer: &[u8],
    reads: &[(usize, FhirRequest)],
    held: &mut Vec<(usize, Value)>,
) -> Result<(), GatewayError> {
    if reads.is_empty() || !contains(answer, b"\"410") {
        return Ok(());
    }
    let Ok(bundle) = serde_json::from_slice::<Value>(answer) else {
        return Ok(());
    };
    for (index, read) in reads {
        let Some(entry) = bundle.get("entry").and_then(|e| e.get(*index)) else {
            continue;
        };
        let gone = entry
            .pointer("/response/status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("410"));
        let Some(etag) = entry
            .pointer("/response/etag")
            .and_then(Value::as_str)
            .and_then(|t| http::HeaderValue::from_str(t).ok())
            .filter(|_| gone)
        else {
            continue;
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(header::ETAG, etag);
        if super::history_deletes::gone_shown(state, subject, read, &headers).await? {
            held.push((*index, entry.clone()));
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What stands in the batch-response for an entry answered in place, until [`put_back`]:
/// an entry the post-filter keeps as it is.
pub(super) fn placeholder() -> Value {
    json!({"response": {"status": "200 OK"}})
}

/// Puts the `held` entries (index, entry answered in place) into `answer`, the filtered
/// batch-response.
pub(super) async fn put_back(
    answer: FhirResponse,
    held: Vec<(usize, Value)>,
) -> Result<FhirResponse, GatewayError> {
    if held.is_empty() || !answer.status.is_success() {
        return Ok(answer);
    }
    let FhirResponse {
        status,
        mut headers,
        body,
    } = answer;
    let bytes = match body {
        ResponseBody::Full(bytes) => bytes,
        stream => stream
            .collect(usize::MAX)
            .await
            .map_err(|_| GatewayError::BadRequest("the answer could not be read".into()))?,
    };
    let mut bundle: Value = serde_json::from_slice(&bytes)
        .map_err(|_| GatewayError::BadRequest("the answer could not be read".into()))?;
    for (index, entry) in held {
        if let Some(slot) = bundle.get_mut("entry").and_then(|e| e.get_mut(index)) {
            *slot = entry;
        }
    }
    headers.remove(header::CONTENT_LENGTH);
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(bundle.to_string())),
    })
}
