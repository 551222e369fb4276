//! Batch and transaction Bundles (FHIR R4 http.html §3.1.0.11, "Batch/Transaction
//! processing rules" §3.1.0.11.1): every entry is authorized as the interaction it names,
//! one by one, and entries whose search was narrowed get their `request.url` rewritten.
//!
//! - **transaction** (atomic): one entry refused refuses the whole Bundle with 403, naming
//!   the entry's index ([`authorize`]). For a restricted caller that includes a read or
//!   vread of a resource that is missing or that the post-filter would withhold (checked
//!   before forwarding): the store would fail the transaction for the first but answer the
//!   second inside it, which would tell them apart; and any instance history or search the
//!   post-filter thins out, which only the single path pages right
//!   ([`super::bundle_history`], [`super::bundle_search`]).
//! - **batch** (each entry its own interaction, [`batch`]): only the entries the caller may
//!   perform are forwarded, in a batch holding just those; each refused entry is answered
//!   by the gateway with what the same request alone would get (403 `forbidden` with the
//!   same diagnostics, or 404 `not-found` for a resource outside the caller's reach), in
//!   its place in the `batch-response`. Nothing refused is forwarded, so a refusal never
//!   carries data. Such searches and instance histories are answered in place as the
//!   same request alone. The merged answer then goes through the post-filter (a read's
//!   410 for the caller's own deleted resource is kept, as alone: `bundle_history`).
//!
//! Both are bounded first ([`super::bundle_limit`]): entry count, and the size of a
//! batch-response held for merging or filtering.
//!
//! An entry that is not an interaction at all (no `request`, no or unknown
//! `request.method`, an unparsable url or id, a query that is not UTF-8 once
//! percent-decoded) is malformed: a batch answers it 400 in its place and processes the
//! others (§3.1.0.11.1, entries are independent); a transaction fails whole with 400. A
//! Bundle whose `entry` is not an array (FHIR R4 json.html: repeating elements are arrays)
//! is itself invalid: 400 for the whole Bundle.

use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction, ResponseBody};
use http::Method;
use serde_json::Value;
use std::future::Future;

use super::access::Subject;
use super::bundle_limit;
use super::bundle_merge::{adapter_name, batch_response, merge, refused_answer};
use super::bundle_parts::{
    entry_body, has_conditional_reference, parse_bundle, relative_url, write_bundle,
};
use super::error::AuthError;
use super::{bundle_history, bundle_search, bundle_stored};
use crate::error::GatewayError;
use crate::state::AppState;

/// Why one entry is not forwarded.
enum EntryError {
    /// The Bundle itself is malformed (400 for the whole Bundle), or authorizing the entry
    /// failed for a reason that is not a refusal (an adapter error of a lookup).
    Bundle(GatewayError),
    /// The entry is not a well-formed interaction (400, diagnostics clipped): answered in
    /// place in a batch, the whole transaction's answer.
    Malformed(GatewayError),
    /// Authorization refused the entry: 403 (`insufficient_scope`), 404 (outside reach) or
    /// 412 (a stale `ifMatch`), exactly the error the same request alone would get.
    Refused(GatewayError),
}

/// A malformed entry `index`: 400 `invalid` naming `Bundle.entry[index]`.
fn malformed(index: usize, why: &str) -> EntryError {
    EntryError::Malformed(GatewayError::BadRequest(format!(
        "Bundle.entry[{index}]: {why}"
    )))
}

fn refused(index: usize, why: &str) -> GatewayError {
    GatewayError::Auth(AuthError::forbidden(format!(
        "Bundle.entry[{index}]: {why}"
    )))
}

/// Authorizes every entry of the transaction (or batch) `request`, rewriting its body when
/// an entry's query was narrowed. One refused entry refuses the whole Bundle (403).
pub async fn authorize(
    state: &AppState,
    subject: &Subject,
    request: &mut FhirRequest,
) -> Result<(), GatewayError> {
    let mut bundle = parse_bundle(&request.body)?;
    bundle_limit::check_entries(state, &bundle)?;
    bundle_limit::charge_entries(state, request, &bundle).await?;
    let mut changed = false;
    let entries = bundle.get_mut("entry").and_then(Value::as_array_mut);
    for (index, entry) in entries.into_iter().flatten().enumerate() {
        match authorize_entry(state, subject, request, index, entry).await {
            Ok(_) if bundle_search::refused_in_transaction(subject, &request.base_url, entry) => {
                return Err(refused(
                    index,
                    "a search on a type outside the Patient compartment cannot be paged for this caller inside a transaction; send it on its own",
                ));
            }
            Ok(_) if bundle_history::refused_in_transaction(subject, &request.base_url, entry) => {
                return Err(refused(
                    index,
                    "an instance history cannot be paged for this caller inside a transaction; send it on its own",
                ));
            }
            Ok(rewritten) => changed |= rewritten,
            Err(EntryError::Bundle(e) | EntryError::Malformed(e)) => return Err(e),
            Err(EntryError::Refused(GatewayError::Auth(AuthError::InsufficientScope(why)))) => {
                return Err(refused(index, &why));
            }
            Err(EntryError::Refused(
                e @ (GatewayError::OperationNotSupported(_)
                | GatewayError::MethodNotAllowed { .. }
                | GatewayError::PreconditionFailed(_)),
            )) => return Err(e),
            // An entry naming a resource outside the caller's reach, or (checked before
            // anything is forwarded, `lookup::check_readable`) a read of a resource that is
            // missing or withheld, refuses the whole transaction with one 403 that does not
            // say which, so a withheld resource cannot be told from a missing one.
            Err(EntryError::Refused(_)) => {
                return Err(refused(
                    index,
                    "names a resource that does not exist or is outside the granted context",
                ));
            }
        }
    }
    if changed {
        request.body = write_bundle(&bundle)?;
    }
    Ok(())
}

/// Processes the batch `request` entry by entry (FHIR R4 §3.1.0.11.1): forwards the
/// entries `subject` may perform through `next` (one batch holding only those), answers
/// the refused ones itself, and returns the merged `batch-response` (one entry per request
/// entry, in order) after the post-filter. Nothing is forwarded when every entry is
/// refused. Errors: 400 for a malformed Bundle; 502 when the adapter's answer to the
/// reduced batch is not a `batch-response` with one entry per forwarded entry.
pub async fn batch<F, Fut>(
    state: &AppState,
    subject: &Subject,
    mut request: FhirRequest,
    next: F,
) -> Result<FhirResponse, GatewayError>
where
    F: FnOnce(FhirRequest) -> Fut,
    Fut: Future<Output = Result<FhirResponse, GatewayError>>,
{
    if !subject.sees_everything() {
        // As for every request of a restricted caller: no adapter-side 304 (`conditional`).
        super::conditional::take(&mut request);
    }
    let mut bundle = parse_bundle(&request.body)?;
    bundle_limit::check_entries(state, &bundle)?;
    bundle_limit::charge_entries(state, &request, &bundle).await?;
    let entries = match bundle.get_mut("entry").and_then(Value::as_array_mut) {
        Some(entries) => std::mem::take(entries),
        None => Vec::new(),
    };
    // Per request entry: `None` forwarded, `Some(answer)` refused and answered here.
    let mut slots: Vec<Option<Value>> = Vec::with_capacity(entries.len());
    let mut forwarded = Vec::with_capacity(entries.len());
    // Entries answered in place that the batch-response's post-filter must not touch.
    let mut held = Vec::new();
    // Forwarded reads, whose 410 may reach the caller as alone (`bundle_history`).
    let mut reads = Vec::new();
    // Forwarded reads of a stored Bundle, judged whole (`bundle_stored`).
    let mut bundle_reads = Vec::new();
    let mut changed = false;
    for (index, mut entry) in entries.into_iter().enumerate() {
        match authorize_entry(state, subject, &request, index, &mut entry).await {
            Ok(rewritten) => {
                // A search the post-filter thins out is run alone (`bundle_search`).
                let alone = bundle_search::answer_in_place(state, subject, &request, &entry);
                if let Some(answer) = alone.await? {
                    slots.push(Some(answer));
                    continue;
                }
                // So is an instance history (`bundle_history`).
                let history = bundle_history::answer_in_place(state, subject, &request, &entry);
                if let Some(answer) = history.await? {
                    held.push((slots.len(), answer));
                    slots.push(Some(bundle_history::placeholder()));
                    continue;
                }
                if bundle_stored::is_read(subject, &request.base_url, &entry) {
                    bundle_reads.push(slots.len());
                }
                if let Some(mut read) =
                    bundle_history::read_entry(subject, &request.base_url, &entry)
                {
                    read.principal = request.principal.clone();
                    read.request_id = request.request_id.clone();
                    reads.push((slots.len(), read));
                }
                changed |= rewritten;
                forwarded.push(entry);
                slots.push(None);
            }
            Err(EntryError::Bundle(e)) => return Err(e),
            Err(EntryError::Malformed(e)) => {
                tracing::info!(entry = index, "malformed batch entry answered 400");
                slots.push(Some(refused_answer(&e)));
            }
            Err(EntryError::Refused(e)) => {
                tracing::info!(entry = index, "batch entry refused");
                slots.push(Some(refused_answer(&e)));
            }
        }
    }
    let refusals = slots.iter().filter(|s| s.is_some()).count();
    let limit = bundle_limit::batch_limit(state, slots.len());
    let adapter = adapter_name(state);
    let answer = if refusals == 0 {
        if changed {
            bundle["entry"] = Value::Array(forwarded);
            request.body = write_bundle(&bundle)?;
        }
        let answer = next(request).await?;
        if subject.sees_everything() {
            // Nothing is buffered here: the adapter's answer streams through as it is.
            return Ok(answer);
        }
        bundle_limit::bounded(state, answer, limit, &adapter).await?
    } else if forwarded.is_empty() {
        let entries = slots.into_iter().flatten().collect();
        batch_response(entries)
    } else {
        let count = forwarded.len();
        bundle["entry"] = Value::Array(forwarded);
        request.body = write_bundle(&bundle)?;
        let answer = next(request).await?;
        merge(state, answer, slots, count, &adapter, limit).await?
    };
    // Searchsets nested in the batch-response lose an inexact `total` there (by their
    // `self` link), since this answer answers no search of its own.
    if let ResponseBody::Full(bytes) = &answer.body
        && answer.status.is_success()
    {
        bundle_history::gone_reads(state, subject, bytes, &reads, &mut held).await?;
        bundle_stored::judge(subject, bytes, &bundle_reads, &mut held);
    }
    let answer = super::filter::filter(subject, answer, None).await?;
    bundle_history::put_back(answer, held).await
}

/// Authorizes entry `index` (its `request`, and its `resource` as the body) as the single
/// interaction it names; rewrites `request.url` when the query was narrowed (`Ok(true)`).
async fn authorize_entry(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
    index: usize,
    entry: &mut Value,
) -> Result<bool, EntryError> {
    let method = entry
        .pointer("/request/method")
        .and_then(Value::as_str)
        .unwrap_or("");
    let method = match method {
        "GET" | "HEAD" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => {
            return Err(malformed(
                index,
                "request.method is missing or not an HTTP verb of FHIR (GET, HEAD, POST, PUT, DELETE, PATCH)",
            ));
        }
    };
    crate::edge::check_entry_entity_tags(entry).map_err(|why| malformed(index, &why))?;
    let url = entry
        .pointer("/request/url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let refuse = |why: &str| EntryError::Refused(GatewayError::Auth(AuthError::forbidden(why)));
    let relative = relative_url(&url, &request.base_url)
        .ok_or_else(|| refuse("request.url points outside this server"))?;
    let (path, query) = relative.split_once('?').unwrap_or((relative.as_str(), ""));
    let target = parse_target(&method, path.trim_matches('/'))
        .map_err(|e| malformed(index, &format!("request.url: {}", e.message)))?;
    // Strictly decoded as a top-level query is (`edge::query`, RFC 3986 §2.5).
    let pairs = crate::edge::query::parse(query.as_bytes())
        .map_err(|e| malformed(index, &format!("request.url: {e}")))?;
    crate::edge::modifier::check(&pairs)
        .map_err(|e| malformed(index, &format!("request.url: {e}")))?;
    if matches!(
        target.interaction,
        Interaction::Batch | Interaction::Transaction
    ) {
        return Err(refuse("nested batch or transaction"));
    }
    // An operation nobody serves, or a method it does not take: the same 404/405 the
    // request alone gets (decided from the request's shape only, never from data).
    crate::edge::operation::check(state, &method, path.trim_matches('/'))
        .map_err(EntryError::Refused)?;
    let mut sub = FhirRequest::new(method.clone(), target, request.base_url.clone());
    sub.query = pairs;
    sub.raw_query = Some(query.to_owned());
    sub.principal = request.principal.clone();
    sub.request_id = request.request_id.clone();
    if let Some(resource) = entry.get("resource") {
        sub.body = entry_body(&method, resource).into();
    }
    let restricted = !subject.sees_everything();
    let mut rewritten = false;
    if restricted {
        // As over REST (`conditional`): a conditional read could tell another patient's
        // record and version by a 304 before anything is checked; a server may always
        // answer 200, so the conditions are dropped.
        if let Some(r) = entry.get_mut("request").and_then(Value::as_object_mut) {
            rewritten |= r.remove("ifNoneMatch").is_some();
            rewritten |= r.remove("ifModifiedSince").is_some();
        }
        // A conditional reference (`Observation?code=…`, FHIR R4 §3.1.0.11.2) is a search
        // the server runs over every patient's data: not for a restricted caller.
        if entry.get("resource").is_some_and(has_conditional_reference) {
            return Err(refuse(
                "conditional references (Type?search) are not allowed for a patient-restricted caller",
            ));
        }
    }
    // `ifNoneExist` is the entry's If-None-Exist: verified, narrowed and resolved exactly
    // as the header is (`conditional_write::create`), then written back (or removed).
    let if_none_exist = http::HeaderName::from_static("if-none-exist");
    if let Some(criteria) = entry
        .pointer("/request/ifNoneExist")
        .and_then(Value::as_str)
    {
        let value = http::HeaderValue::from_str(criteria)
            .ok()
            .filter(|_| crate::edge::query::parse(criteria.as_bytes()).is_ok())
            .ok_or_else(|| malformed(index, "request.ifNoneExist is not a valid query"))?;
        sub.headers.insert(if_none_exist.clone(), value);
    }
    if let Some(tag) = entry.pointer("/request/ifMatch").and_then(Value::as_str)
        && let Ok(tag) = http::HeaderValue::from_str(tag)
    {
        sub.headers.insert(http::header::IF_MATCH, tag);
    }
    Box::pin(super::enforce::authorize(state, subject, &mut sub))
        .await
        .map_err(|e| match e {
            GatewayError::Auth(AuthError::InsufficientScope(_))
            | GatewayError::NotFound(_)
            | GatewayError::PreconditionFailed(_) => EntryError::Refused(e),
            GatewayError::BadRequest(_) => EntryError::Malformed(e),
            other => EntryError::Bundle(other),
        })?;
    if let Some(narrowed) = sub
        .headers
        .get(&if_none_exist)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            entry
                .pointer("/request/ifNoneExist")
                .and_then(Value::as_str)
                != Some(*v)
        })
    {
        entry["request"]["ifNoneExist"] = Value::String(narrowed.to_owned());
        rewritten = true;
    } else if !sub.headers.contains_key(&if_none_exist)
        && let Some(r) = entry.get_mut("request").and_then(Value::as_object_mut)
    {
        // A condition only hidden resources match is dropped (`conditional_write::create`).
        rewritten |= r.remove("ifNoneExist").is_some();
    }
    if restricted
        && request.interaction == Interaction::Transaction
        && matches!(sub.interaction, Interaction::Read | Interaction::Vread)
    {
        super::lookup::check_readable(state, subject, &sub)
            .await
            .map_err(|e| match e {
                GatewayError::NotFound(_) => EntryError::Refused(e),
                other => EntryError::Bundle(other),
            })?;
    }
    // A conditional write resolved to one match (`conditional_write`) carries its version.
    if let Some(tag) = sub.headers.get(http::header::IF_MATCH)
        && let Ok(tag) = tag.to_str()
        && entry.pointer("/request/ifMatch").and_then(Value::as_str) != Some(tag)
    {
        entry["request"]["ifMatch"] = Value::String(tag.to_owned());
        rewritten = true;
    }
    if sub.raw_query.is_some() {
        return Ok(rewritten);
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(sub.query.iter())
        .finish();
    if sub.interaction == Interaction::SearchType {
        // `POST [type]/_search` rewritten with its narrowed query: the same search by GET.
        entry["request"]["method"] = Value::String("GET".into());
    }
    entry["request"]["url"] = Value::String(if query.is_empty() {
        sub.relative_path()
    } else {
        format!("{}?{query}", sub.relative_path())
    });
    Ok(true)
}
