//! A transaction (FHIR R4 §3.1.0.11.2): all entries in one database transaction, in the
//! order DELETE, POST, PUT/PATCH, GET; `urn:uuid:` fullUrls of created (and PUT) entries
//! are mapped to `Type/id` and references to them rewritten; any failure rolls back and
//! answers the failing entry's status with `Bundle.entry[n]` named.

use std::collections::HashMap;

use fhirgate_conformance::IssueCode;
use http::StatusCode;
use serde_json::Value;
use sqlx::AnyConnection;

use super::super::answer::{Answer, Body, Return};
use super::super::bundle_json::{assemble, envelope};
use super::super::db::{Backend, unavailable};
use super::super::exec::{Op, OpBody, execute};
use super::super::ops::{Ctx, Fail, one_match};
use super::super::search;
use super::super::service::{Store, conflict};
use super::{entry_op, response_entry, set_expression};
use crate::AdapterError;
use crate::interaction::{Interaction, is_resource_type};

/// Replaces every `reference` found in `map` (`urn:uuid:…` → `Type/id`).
pub(crate) fn rewrite_references(v: &mut Value, map: &HashMap<String, String>) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj.iter_mut() {
                if k == "reference"
                    && let Value::String(s) = child
                    && let Some(new) = map.get(s.as_str())
                {
                    *s = new.clone();
                    continue;
                }
                rewrite_references(child, map);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_references(i, map)),
        _ => {}
    }
}

fn order(i: &Interaction) -> u8 {
    match i {
        Interaction::Delete => 0,
        Interaction::Create => 1,
        Interaction::Update | Interaction::Patch => 2,
        _ => 3,
    }
}

/// Decides the ids of creates and conditional updates and maps fullUrls to `Type/id`.
async fn assign(
    conn: &mut AnyConnection,
    ops: &mut [(Op, Option<String>, Option<String>)],
) -> Result<HashMap<String, String>, (usize, Fail)> {
    let mut map = HashMap::new();
    for (i, (op, full_url, assigned)) in ops.iter_mut().enumerate() {
        let rtype = op.target.resource_type.clone().unwrap_or_default();
        let id = match op.target.interaction {
            Interaction::Create => {
                let mut id = uuid::Uuid::new_v4().to_string();
                if let Some(cond) = &op.if_none_exist {
                    let q = super::super::ops::parse_query(cond);
                    let found = search::matches(conn, &rtype, &q, 2)
                        .await
                        .map_err(|e| (i, Fail::Db(e)))?
                        .map_err(|a| (i, Fail::Client(a)))?;
                    if let [(_, existing)] = found.as_slice() {
                        id = existing.clone();
                    }
                }
                *assigned = Some(id.clone());
                Some(id)
            }
            Interaction::Update if op.target.id.is_none() => {
                let found = one_match(conn, &rtype, &op.query)
                    .await
                    .map_err(|f| (i, f))?;
                let id = found
                    .or_else(|| match &op.body {
                        OpBody::Resource(r) => {
                            r.get("id").and_then(Value::as_str).map(str::to_owned)
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                op.target.id = Some(id.clone());
                op.query.clear();
                Some(id)
            }
            Interaction::Update => op.target.id.clone(),
            _ => None,
        };
        if let (Some(url), Some(id)) = (full_url.as_ref(), id) {
            map.insert(url.clone(), format!("{rtype}/{id}"));
        }
    }
    Ok(map)
}

/// Collects the `reference` strings of `v` that are conditional (`Type?search`).
fn conditional_references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj {
                match (k.as_str(), child) {
                    ("reference", Value::String(s))
                        if s.split_once('?').is_some_and(|(t, _)| is_resource_type(t)) =>
                    {
                        out.push(s.clone());
                    }
                    _ => conditional_references(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| conditional_references(i, out)),
        _ => {}
    }
}

/// Resolves conditional references (FHIR R4 §3.1.0.11.2 "Transaction processing rules":
/// `Patient?identifier=…` must match exactly one resource, else 412) into `map`.
async fn resolve_conditional_references(
    conn: &mut AnyConnection,
    ops: &[(Op, Option<String>, Option<String>)],
    map: &mut HashMap<String, String>,
) -> Result<(), (usize, Fail)> {
    for (i, (op, _, _)) in ops.iter().enumerate() {
        let OpBody::Resource(r) = &op.body else {
            continue;
        };
        let mut refs = Vec::new();
        conditional_references(r, &mut refs);
        for reference in refs {
            if map.contains_key(&reference) {
                continue;
            }
            let (rtype, query) = reference.split_once('?').unwrap_or(("", ""));
            let q = super::super::ops::parse_query(query);
            let found = search::matches(conn, rtype, &q, 2)
                .await
                .map_err(|e| (i, Fail::Db(e)))?
                .map_err(|a| (i, Fail::Client(a)))?;
            match found.as_slice() {
                [(_, id)] => {
                    map.insert(reference.clone(), format!("{rtype}/{id}"));
                }
                _ => {
                    let msg = format!(
                        "conditional reference '{reference}' matches {} resources; it must match exactly one",
                        found.len()
                    );
                    let a = Answer::error(
                        StatusCode::PRECONDITION_FAILED,
                        IssueCode::MultipleMatches,
                        msg,
                    );
                    return Err((i, Fail::Client(a)));
                }
            }
        }
    }
    Ok(())
}

/// A transaction whose entries share a `fullUrl`, or write (PUT, PATCH, DELETE) the same
/// resource more than once, SHALL fail (FHIR R4 §3.1.0.11.2): the second such entry.
fn duplicate_identity<'a>(
    entries: impl Iterator<Item = (&'a Op, Option<&'a str>)>,
) -> Option<Answer> {
    let mut full_urls = std::collections::HashSet::new();
    let mut written = std::collections::HashSet::new();
    for (i, (op, full)) in entries.enumerate() {
        if let Some(full) = full.filter(|f| !f.is_empty())
            && !full_urls.insert(full)
        {
            return Some(super::bad(
                i,
                format!("fullUrl {full} appears more than once in the transaction"),
            ));
        }
        let writes = matches!(
            op.target.interaction,
            Interaction::Update | Interaction::Patch | Interaction::Delete
        );
        if let (true, Some(rt), Some(id)) = (writes, &op.target.resource_type, &op.target.id)
            && !written.insert((rt.as_str(), id.as_str()))
        {
            return Some(super::bad(
                i,
                format!("{rt}/{id} is written by more than one entry of the transaction"),
            ));
        }
    }
    None
}

/// Runs a transaction Bundle atomically and answers the `transaction-response`.
pub(crate) async fn run_transaction(
    store: &Store,
    bundle: &Value,
    base: &str,
    ret: Return,
) -> Result<Answer, AdapterError> {
    let empty = Vec::new();
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if entries.len() > super::MAX_ENTRIES {
        return Ok(super::too_many_entries(entries.len()));
    }
    let mut ops = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        match entry_op(e, i) {
            Ok((op, full)) => ops.push((op, full, None)),
            Err(a) => return Ok(a),
        }
    }
    if let Some(a) = duplicate_identity(ops.iter().map(|(op, full, _)| (op, full.as_deref()))) {
        return Ok(a);
    }
    let db_err = |e: sqlx::Error| unavailable(&store.name, &e);
    let _guard = match store.db.backend {
        Backend::Sqlite => Some(store.db.write_lock.lock().await),
        Backend::Postgres => None,
    };
    let mut tx = store.db.pool.begin().await.map_err(db_err)?;
    let result = run_in(&mut tx, store.ctx, &mut ops, base, ret).await;
    match result {
        Ok(answers) => {
            tx.commit().await.map_err(db_err)?;
            let out: Vec<String> = answers
                .iter()
                .zip(&ops)
                .map(|(a, (op, _, _))| {
                    let full = op
                        .target
                        .resource_type
                        .as_ref()
                        .zip(a.location.as_ref().and_then(|l| l.split('/').nth(1)))
                        .map(|(t, id)| format!("{base}/{t}/{id}"));
                    response_entry(a, full.as_deref(), ret)
                })
                .collect();
            let body = assemble(&envelope("transaction-response"), &out);
            tracing::debug!(adapter = %store.name, entries = out.len(), "transaction committed");
            Ok(Answer::new(StatusCode::OK, Body::Raw(body)))
        }
        Err((i, Fail::Client(mut a))) => {
            tx.rollback().await.map_err(db_err)?;
            set_expression(&mut a, i);
            Ok(a)
        }
        Err((i, Fail::Db(e))) => {
            let _ = tx.rollback().await;
            let mut a = conflict(e).map_err(db_err)?;
            set_expression(&mut a, i);
            Ok(a)
        }
    }
}

/// The transaction's work on `conn`; the failing entry's index on error. `ret` says which
/// answers carry their resource into the transaction-response (as [`response_entry`]).
async fn run_in(
    conn: &mut AnyConnection,
    ctx: Ctx,
    ops: &mut [(Op, Option<String>, Option<String>)],
    base: &str,
    ret: Return,
) -> Result<Vec<Answer>, (usize, Fail)> {
    let mut map = assign(conn, ops).await?;
    resolve_conditional_references(conn, ops, &mut map).await?;
    for (op, _, _) in ops.iter_mut() {
        if let OpBody::Resource(r) = &mut op.body {
            rewrite_references(r, &map);
        }
    }
    let mut idx: Vec<usize> = (0..ops.len()).collect();
    idx.sort_by_key(|&i| order(&ops[i].0.target.interaction));
    let mut answers: Vec<Option<Answer>> = vec![None; ops.len()];
    // The transaction-response stays within `server.max_answer_bytes`: past it the whole
    // transaction is rolled back and answered 413 `too-costly` (it is atomic).
    let mut size = 0usize;
    for i in idx {
        let (op, _, assigned) = &ops[i];
        let a = execute(conn, ctx, op.clone(), base, assigned.clone())
            .await
            .map_err(|f| (i, f))?;
        if !a.is_success() {
            return Err((i, Fail::Client(a)));
        }
        if a.location.is_none() || ret == Return::Representation {
            size += a.body_len();
        }
        if size > ctx.max_answer_bytes {
            return Err((
                i,
                Fail::Client(super::transaction_too_costly(i, ctx.max_answer_bytes)),
            ));
        }
        answers[i] = Some(a);
    }
    Ok(answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                Answer::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    IssueCode::Exception,
                    "not run",
                )
            })
        })
        .collect())
}
