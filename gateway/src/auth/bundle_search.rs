//! Search entries of a restricted caller's batch or transaction on a type the post-filter
//! thins out (outside the Patient compartment: Device, Task …; FHIR R4 §3.1.0.11.1,
//! search.html §3.1.1.6 paging; SMART App Launch 2.x §3 patient scopes).
//!
//! Alone, such a search carries the filter's rule to the adapter, which pages over what
//! the caller sees ([`super::filter::rule`], else [`super::search_pages`]). Forwarded
//! inside a Bundle, it would reach the adapter without it, and its searchset in the
//! `batch-response` would page over every patient's matches: short or empty pages with
//! `next` links, counting resources the caller may not see. So:
//! - in a **batch**, the gateway answers the entry in place, running the search exactly as
//!   the same request alone is run (through the route's adapter, as the caller, with the
//!   rule, then the post-filter and, for an adapter that ignored the rule, the link fix);
//! - in a **transaction** (one atomic answer from the adapter), the entry is refused: the
//!   caller runs the search on its own.

use fhirgate_adapters::interaction::{Target, parse_target};
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction};
use http::Method;
use serde_json::{Value, json};

use super::access::Subject;
use super::bundle_parts::relative_url;
use super::{filter, search_pages};
use crate::error::GatewayError;
use crate::state::AppState;

/// The search (target and query) entry `entry` of a Bundle sent to `base` names, when the
/// post-filter may thin it out for `subject`.
fn thinned_search(subject: &Subject, base: &str, entry: &Value) -> Option<(Target, String)> {
    if subject.sees_everything() {
        return None;
    }
    let method = match entry.pointer("/request/method").and_then(Value::as_str)? {
        "GET" | "HEAD" => Method::GET,
        "POST" => Method::POST,
        _ => return None,
    };
    let url = entry.pointer("/request/url").and_then(Value::as_str)?;
    let relative = relative_url(url, base)?;
    let (path, query) = relative.split_once('?').unwrap_or((relative.as_str(), ""));
    let target = parse_target(&method, path.trim_matches('/')).ok()?;
    let rt = target.resource_type.as_deref()?;
    (target.interaction == Interaction::SearchType && filter::rule(subject, rt).is_some())
        .then(|| (target, query.to_owned()))
}

/// Whether the transaction entry `entry` is such a search (refused: see the module docs).
pub(super) fn refused_in_transaction(subject: &Subject, base: &str, entry: &Value) -> bool {
    thinned_search(subject, base, entry).is_some()
}

/// For the (authorized) batch entry `entry` of `batch`: its `batch-response` entry, run
/// here when it is such a search; `None` for any other entry (forwarded as usual).
pub(super) async fn answer_in_place(
    state: &AppState,
    subject: &Subject,
    batch: &FhirRequest,
    entry: &Value,
) -> Result<Option<Value>, GatewayError> {
    let Some((target, query)) = thinned_search(subject, &batch.base_url, entry) else {
        return Ok(None);
    };
    let rt = target.resource_type.clone().unwrap_or_default();
    let Some(adapter) = state
        .route(Some(&rt), Interaction::SearchType)
        .and_then(|a| a.first())
    else {
        return Ok(None);
    };
    let mut search = FhirRequest::new(Method::GET, target, batch.base_url.clone());
    search.query = crate::edge::query::parse(query.as_bytes())?;
    search.raw_query = Some(query);
    search.principal = batch.principal.clone();
    search.request_id = batch.request_id.clone();
    search.client_ip = batch.client_ip;
    search.visibility = filter::rule(subject, &rt);
    let answer = adapter.handle(search.clone()).await?;
    let answer = match filter::filter(subject, answer, Some(&rt)).await {
        Ok(answer) => answer,
        Err(e) => return Ok(Some(super::bundle_merge::refused_answer(&e))),
    };
    let answer = match &search.visibility {
        Some(rule) if !rule.honoured() && answer.status.is_success() => {
            search_pages::relink(state, subject, &search, answer).await?
        }
        _ => answer,
    };
    batch_entry(answer).await.map(Some)
}

/// The `batch-response` entry (FHIR R4 §3.1.0.11.1) for `answer`, a request answered
/// alone: its resource and status line, or its status line and OperationOutcome.
pub(super) async fn batch_entry(answer: FhirResponse) -> Result<Value, GatewayError> {
    let status = answer.status;
    let body = answer
        .body
        .collect(usize::MAX)
        .await
        .map_err(|_| GatewayError::BadRequest("the answer could not be read".into()))?;
    let resource: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let line = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    Ok(if status.is_success() {
        json!({"resource": resource, "response": {"status": line}})
    } else {
        json!({"response": {"status": line, "outcome": resource}})
    })
}
