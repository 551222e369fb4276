//! The FHIR interactions on one connection or transaction (FHIR R4 §3.1.0 "RESTful
//! API"): read, vread, create (with `If-None-Exist`), update (with `If-Match`, conditional
//! update), JSON Patch, delete. Shared by single requests and Bundle entries.

use fhirgate_conformance::IssueCode;
use http::StatusCode;
use serde_json::Value;
use sqlx::AnyConnection;

use super::answer::{Answer, Body};
use super::db::Backend;
use super::resource::{check_type, etag_version};
use super::search;
use super::storage::{self, Stored};

/// Why an interaction stopped: a client error (answered) or a database failure.
#[derive(Debug)]
pub(crate) enum Fail {
    /// 4xx answer; a transaction rolls back.
    Client(Answer),
    /// Database failure (503).
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl From<Answer> for Fail {
    fn from(a: Answer) -> Self {
        Self::Client(a)
    }
}

/// Result of an interaction.
pub(crate) type OpResult = Result<Answer, Fail>;

/// What every interaction needs to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// Dialect (row locking).
    pub backend: Backend,
    /// `updateCreate`.
    pub update_create: bool,
    /// Largest answer built for one request, in bytes ([`crate::BuildContext::max_answer_bytes`]).
    pub max_answer_bytes: usize,
    /// Key sealing the paging cursors ([`super::search::cursor`]).
    pub cursor_key: super::search::cursor::CursorKey,
}

fn fail(status: StatusCode, code: IssueCode, msg: impl Into<String>) -> Fail {
    Fail::Client(Answer::error(status, code, msg))
}

/// The answer for a stored version: resource body, ETag, Last-Modified.
pub(crate) fn stored_answer(status: StatusCode, s: &Stored, location: bool) -> Answer {
    let mut a = Answer::new(status, Body::Raw(s.body.clone()));
    a.version = Some(s.version);
    a.last_modified = Some((s.lu, s.last_updated.clone()));
    if location {
        a.location = Some(format!("{}/{}/_history/{}", s.rtype, s.id, s.version));
    }
    a
}

fn not_found(rtype: &str, id: &str) -> Fail {
    fail(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        format!("{rtype}/{id} is not known"),
    )
}

fn gone(s: &Stored) -> Fail {
    let mut a = Answer::error(
        StatusCode::GONE,
        IssueCode::Deleted,
        format!("{}/{} was deleted", s.rtype, s.id),
    );
    a.version = Some(s.version);
    Fail::Client(a)
}

/// `read` (§3.1.0.2): 404 unknown, 410 deleted, 304 when `If-None-Match` names the
/// current version.
pub(crate) async fn read(
    conn: &mut AnyConnection,
    ctx: Ctx,
    rtype: &str,
    id: &str,
    if_none_match: Option<&str>,
) -> OpResult {
    let s = storage::current(conn, ctx.backend, rtype, id, false)
        .await?
        .ok_or_else(|| not_found(rtype, id))?;
    if s.deleted {
        return Err(gone(&s));
    }
    if let Some(tag) = if_none_match
        && (tag.trim() == "*" || etag_version(tag) == Some(s.version))
    {
        let mut a = stored_answer(StatusCode::NOT_MODIFIED, &s, false);
        a.body = Body::None;
        return Ok(a);
    }
    Ok(stored_answer(StatusCode::OK, &s, false))
}

/// `vread` (§3.1.0.3): 404 unknown version, 410 for a deletion version.
pub(crate) async fn vread(conn: &mut AnyConnection, rtype: &str, id: &str, vid: &str) -> OpResult {
    let version: i64 = vid.parse().map_err(|_| {
        fail(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            format!("{rtype}/{id} has no version '{vid}' (versions are whole numbers)"),
        )
    })?;
    let s = storage::version(conn, rtype, id, version)
        .await?
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("{rtype}/{id} has no version {vid}"),
            )
        })?;
    if s.deleted {
        return Err(gone(&s));
    }
    Ok(stored_answer(StatusCode::OK, &s, false))
}

/// Checks `If-Match` against the current version (412 on mismatch, FHIR R4 http.html
/// §3.1.0.6.2, versions compared as FHIR does, weak tags included): `*` matches any current
/// version and a list matches when one of its tags does (RFC 9110 §13.1.1); a deleted or
/// missing resource matches nothing.
fn check_if_match(if_match: Option<&str>, current: Option<&Stored>) -> Result<(), Fail> {
    let Some(tag) = if_match else {
        return Ok(());
    };
    let live = current.filter(|s| !s.deleted).map(|s| s.version);
    if let Some(version) = live
        && (tag.trim() == "*" || tag.split(',').any(|t| etag_version(t) == Some(version)))
    {
        return Ok(());
    }
    Err(fail(
        StatusCode::PRECONDITION_FAILED,
        IssueCode::Conflict,
        format!(
            "If-Match {tag} does not match the current version ({})",
            live.map_or("none".to_owned(), |v| format!("W/\"{v}\""))
        ),
    ))
}

/// `create` (§3.1.0.8) with a server-assigned id (or `id` when given, for transactions
/// that already assigned one); `If-None-Exist` (§3.1.0.8.1): 200 with the one match,
/// 412 on several.
pub(crate) async fn create(
    conn: &mut AnyConnection,
    rtype: &str,
    resource: Value,
    if_none_exist: Option<&str>,
    id: Option<String>,
) -> OpResult {
    let resource = check_type(resource, Some(rtype))?;
    if let Some(cond) = if_none_exist {
        let query = parse_query(cond);
        let found = search::matches(conn, rtype, &query, 2).await??;
        match found.as_slice() {
            [] => {}
            [(_, existing)] => {
                let s = storage::current(conn, Backend::Sqlite, rtype, existing, false)
                    .await?
                    .ok_or_else(|| not_found(rtype, existing))?;
                return Ok(stored_answer(StatusCode::OK, &s, true));
            }
            _ => {
                return Err(fail(
                    StatusCode::PRECONDITION_FAILED,
                    IssueCode::MultipleMatches,
                    format!("If-None-Exist '{cond}' matches more than one {rtype}"),
                ));
            }
        }
    }
    let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let s = storage::write(conn, rtype, &id, None, Some(resource), "POST").await?;
    Ok(stored_answer(StatusCode::CREATED, &s, true))
}

/// Splits a query string (`identifier=a|b&x=y`) into decoded pairs.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    let q = q.split_once('?').map_or(q, |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// `update` (§3.1.0.4): 200 on an existing resource, 201 when it creates one
/// (`update_create`), 400 when the body's id differs, 412 on an `If-Match` mismatch.
pub(crate) async fn update(
    conn: &mut AnyConnection,
    ctx: Ctx,
    rtype: &str,
    id: &str,
    resource: Value,
    if_match: Option<&str>,
) -> OpResult {
    let resource = check_type(resource, Some(rtype))?;
    if let Some(body_id) = resource.get("id").and_then(Value::as_str)
        && body_id != id
    {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("the resource id '{body_id}' does not match the URL id '{id}'"),
        ));
    }
    let current = storage::current(conn, ctx.backend, rtype, id, true).await?;
    check_if_match(if_match, current.as_ref())?;
    if current.is_none() && !ctx.update_create {
        return Err(fail(
            StatusCode::METHOD_NOT_ALLOWED,
            IssueCode::NotSupported,
            format!("{rtype}/{id} does not exist and this store does not create on update"),
        ));
    }
    let status = match &current {
        Some(s) if !s.deleted => StatusCode::OK,
        _ => StatusCode::CREATED,
    };
    let s = storage::write(conn, rtype, id, current.as_ref(), Some(resource), "PUT").await?;
    Ok(stored_answer(status, &s, true))
}

/// Conditional update `PUT [type]?search` (§3.1.0.4.3): no match creates, one match
/// updates it, several answer 412.
pub(crate) async fn conditional_update(
    conn: &mut AnyConnection,
    ctx: Ctx,
    rtype: &str,
    query: &[(String, String)],
    resource: Value,
    if_match: Option<&str>,
) -> OpResult {
    let found = search::matches(conn, rtype, query, 2).await??;
    match found.as_slice() {
        [] => {
            let id = resource
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match id {
                Some(id) => update(conn, ctx, rtype, &id, resource, if_match).await,
                None => create(conn, rtype, resource, None, None).await,
            }
        }
        [(_, id)] => {
            let id = id.clone();
            update(conn, ctx, rtype, &id, resource, if_match).await
        }
        _ => Err(fail(
            StatusCode::PRECONDITION_FAILED,
            IssueCode::MultipleMatches,
            format!("the conditional update matches more than one {rtype}"),
        )),
    }
}

/// Resolves the one match of a conditional patch or delete: 404 for none (patch),
/// 412 for several.
pub(crate) async fn one_match(
    conn: &mut AnyConnection,
    rtype: &str,
    query: &[(String, String)],
) -> Result<Option<String>, Fail> {
    let found = search::matches(conn, rtype, query, 2).await??;
    match found.as_slice() {
        [] => Ok(None),
        [(_, id)] => Ok(Some(id.clone())),
        _ => Err(fail(
            StatusCode::PRECONDITION_FAILED,
            IssueCode::MultipleMatches,
            format!("the condition matches more than one {rtype}"),
        )),
    }
}

/// `delete` (§3.1.0.7): 204 (also for an already deleted resource), 404 when unknown,
/// 412 when `If-Match` is given and does not name the current version (§3.1.0.6.2; the
/// gateway pins a resolved conditional delete to the version it checked).
pub(crate) async fn delete(
    conn: &mut AnyConnection,
    ctx: Ctx,
    rtype: &str,
    id: &str,
    if_match: Option<&str>,
) -> OpResult {
    let current = storage::current(conn, ctx.backend, rtype, id, true)
        .await?
        .ok_or_else(|| not_found(rtype, id))?;
    check_if_match(if_match, Some(&current))?;
    if current.deleted {
        let mut a = Answer::new(StatusCode::NO_CONTENT, Body::None);
        a.version = Some(current.version);
        return Ok(a);
    }
    let s = storage::write(conn, rtype, id, Some(&current), None, "DELETE").await?;
    let mut a = Answer::new(StatusCode::NO_CONTENT, Body::None);
    a.version = Some(s.version);
    a.last_modified = Some((s.lu, s.last_updated));
    Ok(a)
}
