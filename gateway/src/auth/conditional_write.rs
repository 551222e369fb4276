//! Conditional update, patch and delete for callers restricted to some patients (FHIR R4
//! http.html §3.1.0.4.3 "conditional update", §3.1.0.7.1 "conditional delete",
//! §3.1.0.5 "patch").
//!
//! The store resolves a condition over everything it holds, so left to it a narrowed
//! `PUT Observation?identifier=x` could still overwrite an Observation in the caller's
//! search that the post-filter withholds (e.g. one that a granular scope's category hides).
//! For a restricted caller the gateway therefore resolves the condition itself: it runs it
//! as a search as the caller (already narrowed, `Prefer: handling=strict`), keeps the
//! matches the post-filter would show, and rewrites the request so the store never decides
//! which resource is written:
//!
//! | visible matches | update / patch                 | delete                          |
//! |-----------------|--------------------------------|---------------------------------|
//! | 1               | by id, `If-Match` its version  | by id, `If-Match` its version   |
//! | 0               | 404 "resource not found"       | 204, nothing deleted            |
//! | ≥ 2             | 412 multiple matches (store)   | 412 multiple matches (store)    |
//!
//! Matches the caller cannot see are ignored for the answer and never written: the answer
//! is the one the caller would get if they did not exist. With no visible match an update
//! does **not** create (as the spec's "no match → create" would): creating would duplicate
//! the business identifier of a hidden resource, so a patient-restricted caller creates
//! with `POST` instead, whose `If-None-Exist` likewise counts only the matches it sees
//! ([`create`]: there, with no visible match, creating is what was asked). The 404 is the
//! same whether or not hidden matches exist, and the same a direct write to a withheld id
//! gets. The `If-Match` turns a concurrent change of the matched resource into 412 instead
//! of a blind overwrite.

pub mod create;

use fhirgate_adapters::interaction::{Target, Visibility};
use fhirgate_adapters::{FhirRequest, Interaction};
use http::{HeaderValue, header};
use serde_json::Value;

use super::access::{Grant, Subject, admits};
use super::enforce::hidden;
use crate::error::GatewayError;
use crate::state::AppState;

/// Most matches read to resolve a condition; more than this (a `next` link) with fewer
/// than two of them visible is read again over the visible ones ([`matches`]), or where
/// the adapter cannot, answers 400 (make the condition more specific).
const MATCH_PAGE: &str = "100";

/// Search parameters that shape a result rather than select resources: dropped from the
/// condition before it is run as a search.
const SHAPING: [&str; 8] = [
    "_count",
    "_summary",
    "_elements",
    "_include",
    "_revinclude",
    "_sort",
    "_total",
    "_format",
];

/// Resolves the (already narrowed) condition of the conditional update, patch or delete
/// `request` as `subject` and rewrites `request` per the module table. A match counts when
/// the post-filter shows it and the write's `grants` admit it (as a write by id requires,
/// `lookup::check_existing`). Errors: 404 for an update or patch without such a match, 400
/// when the condition is not a valid search. Returns the one match the request now targets
/// (as the search read it), so the write is checked without reading it again.
pub async fn resolve(
    state: &AppState,
    subject: &Subject,
    request: &mut FhirRequest,
    grants: &[Grant],
) -> Result<Option<Value>, GatewayError> {
    let rt = request.resource_type.clone().unwrap_or_default();
    let visible = visible_matches(state, subject, grants, request, &rt).await?;
    request.raw_query = None;
    match visible.as_slice() {
        [(id, version, _)] => {
            request.id = Some(id.clone());
            request.query.clear();
            if !request.headers.contains_key(header::IF_MATCH)
                && let Some(version) = version
                && let Ok(tag) = HeaderValue::from_str(&format!("W/\"{version}\""))
            {
                request.headers.insert(header::IF_MATCH, tag);
            }
            Ok(visible.into_iter().next().map(|(_, _, resource)| resource))
        }
        [] if request.interaction == Interaction::Delete => {
            // The store's own "no match" (204): a condition no resource can match, as an
            // id that was never assigned (a fresh UUID).
            request.query = vec![("_id".into(), uuid::Uuid::new_v4().to_string())];
            Ok(None)
        }
        [] => Err(hidden(&rt, "")),
        several => {
            // The store's own 412: a condition matching exactly these visible resources.
            let ids: Vec<&str> = several.iter().map(|(id, _, _)| id.as_str()).collect();
            request.query = vec![("_id".into(), ids.join(","))];
            Ok(None)
        }
    }
}

/// The resources matching a condition, as the caller's search read them.
pub(super) struct Matches {
    /// `(id, versionId, resource)` of the matches the caller may see (and the grants admit).
    pub visible: Vec<(String, Option<String>, Value)>,
    /// Whether some match was left out of `visible` (withheld from the caller).
    pub hidden: bool,
    /// Whether there are more matches than [`MATCH_PAGE`] (a `next` link).
    pub more: bool,
}

/// `(id, versionId, resource)` of the resources matching `request`'s condition that `subject` may
/// see; a page with more matches than [`MATCH_PAGE`] counts as several.
async fn visible_matches(
    state: &AppState,
    subject: &Subject,
    grants: &[Grant],
    request: &FhirRequest,
    rt: &str,
) -> Result<Vec<(String, Option<String>, Value)>, GatewayError> {
    let found = matches(state, subject, grants, request, rt, &request.query).await?;
    if found.more && found.visible.len() < 2 {
        // More matches than were read: never pick one of them.
        return Err(too_broad(rt));
    }
    Ok(found.visible)
}

/// 400: the condition matches more resources than are read to resolve it.
pub(super) fn too_broad(rt: &str) -> GatewayError {
    GatewayError::BadRequest(format!(
        "the condition matches more than {MATCH_PAGE} {rt} resources; make it more specific"
    ))
}

/// Runs `condition` (already narrowed) as a `rt` search as `from`'s caller, strictly
/// (`Prefer: handling=strict`), at most [`MATCH_PAGE`] matches, and sorts the matches into
/// those the post-filter shows `subject` and `grants` admit, and the others. Err 400 when
/// the condition is not a valid search.
///
/// More than a page of matches with fewer than two visible, on a type the narrowing cannot
/// bound (`filter::rule`): read again over what the caller sees, as its own searches page,
/// so that the answer does not depend on how many hidden resources match. An adapter that
/// does not honour the rule leaves the first reading (then [`too_broad`]).
pub(super) async fn matches(
    state: &AppState,
    subject: &Subject,
    grants: &[Grant],
    from: &FhirRequest,
    rt: &str,
    condition: &[(String, String)],
) -> Result<Matches, GatewayError> {
    let mut query: Vec<(String, String)> = condition
        .iter()
        .filter(|(k, _)| !SHAPING.contains(&k.split(':').next().unwrap_or("")))
        .cloned()
        .collect();
    query.push(("_count".into(), MATCH_PAGE.into()));
    let found = read(state, subject, grants, from, rt, query.clone(), None).await?;
    if found.more
        && found.visible.len() < 2
        && let Some(rule) = super::filter::rule(subject, rt)
    {
        let seen = read(state, subject, grants, from, rt, query, Some(rule.clone())).await?;
        if rule.honoured() {
            // The first reading held hidden matches (more than a page, under two visible).
            return Ok(Matches {
                hidden: true,
                ..seen
            });
        }
    }
    Ok(found)
}

/// One reading of the search `query` on `rt` (with the caller's `visibility` rule, if any),
/// sorted as [`matches`] says.
async fn read(
    state: &AppState,
    subject: &Subject,
    grants: &[Grant],
    from: &FhirRequest,
    rt: &str,
    query: Vec<(String, String)>,
    visibility: Option<Visibility>,
) -> Result<Matches, GatewayError> {
    let target = Target {
        interaction: Interaction::SearchType,
        resource_type: Some(rt.to_owned()),
        id: None,
        version_id: None,
        operation: None,
    };
    let bundle = super::lookup::internal_seen(state, from, target, query, true, visibility)
        .await?
        .ok_or_else(|| {
            GatewayError::BadRequest(format!("the condition is not a valid {rt} search"))
        })?;
    let more = bundle
        .get("link")
        .and_then(Value::as_array)
        .is_some_and(|links| links.iter().any(|l| l["relation"] == "next"));
    let mut out = Matches {
        visible: Vec::new(),
        hidden: false,
        more,
    };
    for entry in bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if entry.pointer("/search/mode").is_some_and(|m| m != "match") {
            continue;
        }
        let resource = &entry["resource"];
        let Some(id) = resource.get("id").and_then(Value::as_str) else {
            out.hidden = true;
            continue;
        };
        if resource.get("resourceType").and_then(Value::as_str) != Some(rt)
            || !super::filter::visible(subject, rt, resource)
            || !admits(grants, &subject.local_bases, rt, resource)
        {
            out.hidden = true;
            continue;
        }
        let version = resource
            .pointer("/meta/versionId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        out.visible.push((id.to_owned(), version, resource.clone()));
    }
    Ok(out)
}
