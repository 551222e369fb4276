//! The response post-filter: whatever the adapter answered, nothing outside the caller's
//! grants leaves the gateway. One pass over `serde_json::Value` (never typed models): a
//! single resource outside reach becomes 404; Bundle entries (searchset, history, included
//! resources) outside reach are dropped, and batch/transaction-response entries become
//! `404 Not Found`. A stored Bundle (one a read or search finds) is judged as a whole
//! ([`stored`]). Unchanged answers are forwarded byte for byte.
//!
//! Most answers are decided by [`scan`], a borrowing pass that builds no tree; the
//! `Value` pass runs only for what it leaves open (something to drop, nested Bundles,
//! Parameters, granular scopes), and for a batch/transaction-response one entry at a time
//! ([`entries`]).
//!
//! A restricted caller's search on a type the narrowing cannot bound (outside the Patient
//! compartment) is answered without `Bundle.total` ([`total`]), and the adapter is handed
//! the filter's decision so it can page over the visible matches only ([`rule`]).

mod entries;
mod rule;
mod scan;
mod stored;
mod total;

pub(in crate::auth) use entries::filter_bundle;
pub(in crate::auth) use rule::rule;

use bytes::Bytes;
use fhirgate_adapters::{CollectError, FhirResponse, ResponseBody};
use http::header;
use serde_json::Value;

use super::access::{Grant, Subject, admits, reach_admits_named};
use super::enforce::hidden;
use super::error::AuthError;
use super::scope::Permission;
use crate::error::GatewayError;

/// Largest answer the filter buffers, in bytes; larger answers to restricted callers are
/// refused rather than forwarded unchecked.
const MAX_FILTERED_BYTES: usize = 256 << 20;

/// Filters `answer` for `subject`. Callers that see everything get it untouched.
/// `searched` is the resource type of a type-level search (`GET [type]?…`) the answer
/// answers, `None` for any other interaction: a searchset on a type outside the Patient
/// compartment then loses its `total` ([`total`]). An answer-typed Bundle at the top is
/// the caller's own answer, filtered entry by entry; for the answer of a read, vread or
/// write use [`filter_resource`].
pub async fn filter(
    subject: &Subject,
    answer: FhirResponse,
    searched: Option<&str>,
) -> Result<FhirResponse, GatewayError> {
    filter_as(subject, answer, searched, false).await
}

/// Filters `answer`, a single stored resource (the answer of a read, vread, create, update
/// or patch, FHIR R4 http.html §3.1.0.2–§3.1.0.7), for `subject`: a Bundle there is a
/// stored resource whatever its `type`, judged whole ([`stored::visible_whole`]) and
/// withheld as a missing id when it names another patient (attack finding HIGH, 30 Nov
/// 2026: a stored `searchset` read by id was filtered as if it were the caller's search).
pub async fn filter_resource(
    subject: &Subject,
    answer: FhirResponse,
) -> Result<FhirResponse, GatewayError> {
    filter_as(subject, answer, None, true).await
}

/// [`filter`], or [`filter_resource`] when `single`.
async fn filter_as(
    subject: &Subject,
    answer: FhirResponse,
    searched: Option<&str>,
    single: bool,
) -> Result<FhirResponse, GatewayError> {
    if subject.sees_everything() {
        return Ok(answer);
    }
    let strip_total = searched.is_some_and(|rt| total::withheld(subject, rt));
    let FhirResponse {
        status,
        mut headers,
        body,
    } = answer;
    let bytes = body
        .collect(MAX_FILTERED_BYTES)
        .await
        .map_err(|e| match e {
            CollectError::Read => GatewayError::BadRequest("the answer could not be read".into()),
            CollectError::TooLarge => unverifiable(status, "larger than the filter buffers"),
        })?;
    if status == http::StatusCode::NOT_FOUND || status == http::StatusCode::GONE {
        // Every 404 looks the same to a restricted caller, whether the resource is missing,
        // withheld or deleted (410 would tell another patient's deletions apart), so ids
        // cannot be probed by comparing answers.
        return Err(GatewayError::NotFound("resource not found".into()));
    }
    if bytes.is_empty() {
        return Ok(FhirResponse {
            status,
            headers,
            body: ResponseBody::Full(bytes),
        });
    }
    match fast_path(subject, &bytes, strip_total, single) {
        Some(Fast::Unchanged) => {
            return Ok(FhirResponse {
                status,
                headers,
                body: ResponseBody::Full(bytes),
            });
        }
        Some(Fast::Hidden(rt, id)) => {
            tracing::info!(resource_type = %rt, "answer outside the caller's reach withheld");
            return Err(hidden(&rt, &id));
        }
        None => {}
    }
    if !single && let Some(filtered) = entries::filter_response(subject, &bytes) {
        let body = match filtered {
            None => bytes,
            Some(text) => {
                headers.remove(header::CONTENT_LENGTH);
                Bytes::from(text)
            }
        };
        return Ok(FhirResponse {
            status,
            headers,
            body: ResponseBody::Full(body),
        });
    }
    let mut value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) => value,
        Err(e) => {
            // e.g. nested deeper than serde_json reads: written before writes were
            // bounded (`fhirgate_conformance::depth`), or by an upstream server.
            let reason = format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            );
            return Err(unverifiable(status, &reason));
        }
    };
    let rt = value
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let changed = match rt.as_str() {
        "" => return Err(unverifiable(status, "no resourceType")),
        "OperationOutcome" => false,
        "Bundle" if single || !stored::is_answer_type(&value) => {
            // A stored Bundle read by id (or returned by a write): one resource.
            if !stored::visible_whole(subject, &value) {
                tracing::info!(
                    resource_type = "Bundle",
                    "answer outside the caller's reach withheld"
                );
                return Err(hidden("Bundle", ""));
            }
            false
        }
        "Bundle" => {
            if !stored::links_reached(subject, &value) {
                // Never an answer of ours (its query would have been refused): a stored
                // Bundle of an answer's type, naming another patient.
                tracing::info!(
                    resource_type = "Bundle",
                    "answer outside the caller's reach withheld"
                );
                return Err(hidden("Bundle", ""));
            }
            let dropped = filter_bundle(subject, &mut value);
            let total = strip_total
                && value.get("type").and_then(Value::as_str) == Some("searchset")
                && value
                    .as_object_mut()
                    .and_then(|m| m.remove("total"))
                    .is_some();
            dropped || total
        }
        _ => {
            if !visible(subject, &rt, &value) {
                let id = value
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                tracing::info!(resource_type = %rt, "answer outside the caller's reach withheld");
                return Err(hidden(&rt, &id));
            }
            false
        }
    };
    let body = if changed {
        headers.remove(header::CONTENT_LENGTH);
        Bytes::from(value.to_string())
    } else {
        bytes
    };
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(body),
    })
}

/// 403 for an answer the filter cannot read; logged (the adapter's status, why, and the
/// request's span: never the answer's content).
fn unverifiable(status: http::StatusCode, reason: &str) -> GatewayError {
    tracing::warn!(
        status = status.as_u16(),
        reason,
        "answer withheld: it cannot be checked against the granted scopes"
    );
    GatewayError::Auth(AuthError::forbidden(
        "the answer cannot be checked against the granted scopes",
    ))
}

/// What the fast path decided.
enum Fast {
    /// Everything in the answer is within reach: forward it as it is.
    Unchanged,
    /// The single resource answered (type, id) is outside reach.
    Hidden(String, String),
}

/// Decides `bytes` from a [`scan`] alone; `None` when the `Value` pass must decide (also
/// for a Bundle with a `total` when `strip_total`, and for any Bundle when `single`).
fn fast_path(subject: &Subject, bytes: &[u8], strip_total: bool, single: bool) -> Option<Fast> {
    let answer = scan::scan(bytes, &subject.local_bases)?;
    let rt = answer.top.resource_type.as_deref()?;
    if strip_total && rt == "Bundle" && answer.has_total {
        return None;
    }
    let mut grants = GrantCache::new(subject);
    match rt {
        "OperationOutcome" => Some(Fast::Unchanged),
        "Parameters" => None,
        // A stored Bundle (read by id) is judged whole by the `Value` pass ([`stored`]).
        "Bundle" if single || !answer.is_answer_type() => None,
        // An answer's links name no other patient (its query was authorized): one that does
        // is a stored Bundle of an answer's type ([`stored`]).
        "Bundle" if !stored::link_texts_reached(subject, &answer.top.link_texts) => {
            Some(Fast::Hidden("Bundle".into(), String::new()))
        }
        "Bundle" => {
            for entry in &answer.entries {
                let resource = entry.as_ref()?;
                let ert = resource.resource_type.as_deref()?;
                if matches!(ert, "Bundle" | "Parameters") || !grants.visible(ert, resource)? {
                    return None;
                }
            }
            Some(Fast::Unchanged)
        }
        _ => Some(if grants.visible(rt, &answer.top)? {
            Fast::Unchanged
        } else {
            Fast::Hidden(rt.to_owned(), answer.top.id.clone().unwrap_or_default())
        }),
    }
}

/// The grants of one answer's resource types, each computed once.
struct GrantCache<'s> {
    subject: &'s Subject,
    by_type: Vec<(String, Vec<Grant>)>,
}

impl<'s> GrantCache<'s> {
    fn new(subject: &'s Subject) -> Self {
        Self {
            subject,
            by_type: Vec::new(),
        }
    }

    /// `Some(true)`: some unrestricted-by-constraint grant admits `resource`; `Some(false)`:
    /// none does and no grant has a granular constraint; `None`: a constrained grant
    /// might, which needs the resource's elements (the `Value` pass).
    fn visible(&mut self, rt: &str, resource: &scan::Scanned) -> Option<bool> {
        if rt == "OperationOutcome" {
            return Some(true);
        }
        let index = match self.by_type.iter().position(|(t, _)| t == rt) {
            Some(i) => i,
            None => {
                self.by_type
                    .push((rt.to_owned(), answer_grants(self.subject, rt)));
                self.by_type.len() - 1
            }
        };
        let grants = &self.by_type[index].1;
        let admitted = grants.iter().any(|g| {
            g.constraint.is_empty()
                && reach_admits_named(
                    &g.reach,
                    rt,
                    resource.id.as_deref(),
                    &resource.patients,
                    resource.unresolved,
                )
        });
        if admitted {
            Some(true)
        } else if grants.iter().any(|g| !g.constraint.is_empty()) {
            None
        } else {
            Some(false)
        }
    }
}

/// The grants under which a resource of type `rt` may appear in an answer: any
/// permission on it; for `CoverageEligibilityResponse` also `c` on
/// CoverageEligibilityRequest (the answer of `$submit`, DESIGN.md), which shows the
/// response for the same patients, never anyone else's.
fn answer_grants(subject: &Subject, rt: &str) -> Vec<Grant> {
    let mut grants = subject.any_grants(rt);
    if rt == "CoverageEligibilityResponse" {
        grants.extend(subject.grants("CoverageEligibilityRequest", Permission::Create));
    }
    grants
}

/// Whether `resource` of type `rt` is inside some grant of `subject`. Parameters are
/// visible when every resource they carry is.
pub(in crate::auth) fn visible(subject: &Subject, rt: &str, resource: &Value) -> bool {
    if rt == "OperationOutcome" {
        return true;
    }
    if rt == "Parameters" {
        return resource
            .get("parameter")
            .and_then(Value::as_array)
            .is_none_or(|ps| {
                ps.iter()
                    .all(|p| p.get("resource").is_none_or(|r| nested_visible(subject, r)))
            });
    }
    admits(
        &answer_grants(subject, rt),
        &subject.local_bases,
        rt,
        resource,
    )
}

/// Whether the stored resource `resource` of type `rt` (one a read finds) may be shown to
/// `subject`: [`visible`], and for a Bundle of any `type` judged whole
/// ([`stored::visible_whole`]).
pub(in crate::auth) fn visible_stored(subject: &Subject, rt: &str, resource: &Value) -> bool {
    if rt == "Bundle" {
        stored::visible_whole(subject, resource)
    } else {
        visible(subject, rt, resource)
    }
}

fn nested_visible(subject: &Subject, resource: &Value) -> bool {
    let rt = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if rt == "Bundle" {
        if !stored::is_answer_type(resource) {
            return stored::visible_whole(subject, resource);
        }
        let mut copy = resource.clone();
        return !filter_bundle(subject, &mut copy) && stored::links_reached(subject, resource);
    }
    !rt.is_empty() && visible(subject, rt, resource)
}

#[cfg(test)]
mod depth_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod typed_reference_tests;
