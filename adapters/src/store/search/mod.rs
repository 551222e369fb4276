//! Search (FHIR R4 §3.1.1): a [`plan::Plan`] parsed from the query runs as SQL over the
//! index tables; results come back as a `searchset` Bundle with keyset paging links,
//! `_include`/`_revinclude` entries and an outcome entry for ignored parameters.

mod cond;
pub(crate) mod cursor;
mod include;
pub(crate) mod plan;
mod sql;

use http::StatusCode;
use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::Row;

use super::answer::{Answer, Body};
use super::bundle_json::{assemble, entry, envelope, link};
use super::db::DbResult;
use crate::interaction::Visibility;
use cursor::Cursor;
use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use plan::Plan;
use sql::{Bind, Sql};

/// One matched or included resource.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Row id.
    pub rid: i64,
    /// Resource type.
    pub rtype: String,
    /// Logical id.
    pub id: String,
    /// Sort key value.
    pub key: i64,
    /// Stored JSON.
    pub body: String,
}

/// The row position of the `_cursor` value `value` (a [`cursor::SearchAt`] sealed by
/// `key`) in the search `plan`; `None` (an invalid cursor) unless the store handed it out
/// for a search on the same type with a sort of the same kind (by row id or not). The row
/// is found again from the entry's type and id (one indexed lookup); a row is never
/// removed (a deleted resource keeps it), so paging goes on past an entry deleted or
/// changed meanwhile.
pub(crate) async fn position(
    conn: &mut AnyConnection,
    key: &cursor::CursorKey,
    plan: &Plan,
    value: &str,
) -> DbResult<Option<Cursor>> {
    let Some(at) = cursor::SearchAt::decode(key, value) else {
        return Ok(None);
    };
    let wrong_type = match &plan.rtype {
        Some(t) => *t != at.rtype,
        None => !plan.types.is_empty() && !plan.types.contains(&at.rtype),
    };
    if wrong_type {
        return Ok(None);
    }
    let rid: Option<i64> =
        sqlx::query_scalar("SELECT rid FROM resources WHERE rtype = $1 AND id = $2")
            .bind(&at.rtype)
            .bind(&at.id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(rid) = rid else {
        return Ok(None);
    };
    let key = match (plan.sort == plan::SortKey::Rid, at.key) {
        (true, None) => rid,
        (false, Some(key)) => key,
        _ => return Ok(None),
    };
    Ok(Some(Cursor {
        forward: at.forward,
        key,
        rid,
    }))
}

/// Runs `sql` with its binds and reads [`Hit`]s from `rid, rtype, id, body, sk` rows, one
/// at a time, stopping before the stored text passes `budget` bytes (the first row is always kept, so paging moves on); `true` when
/// it stopped early. Rows past the budget are never read into memory.
pub(crate) async fn fetch_hits_within(
    conn: &mut AnyConnection,
    text: &str,
    binds: &[Bind],
    budget: usize,
) -> DbResult<(Vec<Hit>, bool)> {
    fetch_hits(conn, text, binds, budget, None).await
}

/// [`fetch_hits_within`], keeping only the rows `visible` admits (when given) and stopping
/// once it holds `want` of them (`.1` is then `true` too: more admitted rows may follow).
/// Rows it does not admit are read one at a time, checked and dropped: they count neither
/// against the budget nor as hits.
async fn fetch_hits(
    conn: &mut AnyConnection,
    text: &str,
    binds: &[Bind],
    budget: usize,
    visible: Option<(&Visibility, usize)>,
) -> DbResult<(Vec<Hit>, bool)> {
    use futures::TryStreamExt;
    let mut q = sqlx::query(sqlx::AssertSqlSafe(text.to_owned()));
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Text(s) => q.bind(s.clone()),
        };
    }
    let mut rows = q.fetch(&mut *conn);
    let mut hits = Vec::new();
    let mut used = 0usize;
    while let Some(row) = rows.try_next().await? {
        let hit = Hit {
            rid: row.try_get(0)?,
            rtype: row.try_get(1)?,
            id: row.try_get(2)?,
            body: row.try_get(3)?,
            key: row.try_get(4)?,
        };
        if let Some((rule, _)) = visible
            && !rule.admits(&hit.rtype, &hit.body)
        {
            continue;
        }
        used = used.saturating_add(hit.body.len());
        if used > budget && !hits.is_empty() {
            return Ok((hits, true));
        }
        hits.push(hit);
        if visible.is_some_and(|(_, want)| hits.len() >= want) {
            return Ok((hits, true));
        }
    }
    Ok((hits, false))
}

/// One page of matches within `budget` bytes of stored text, read from the cursor
/// outward: hits in order, and whether more follow (or, going backward, precede).
///
/// With `visible`, only the matches it admits count: the page holds up to `_count` of
/// them, and "more" means another admitted match follows, so neither the page's size nor
/// its links depend on the matches left out. The rows are then read without a `LIMIT`
/// until `_count + 1` admitted ones are found (or the matches end).
async fn page(
    conn: &mut AnyConnection,
    plan: &Plan,
    budget: usize,
    visible: Option<&Visibility>,
) -> DbResult<(Vec<Hit>, bool)> {
    let mut sql = Sql::default();
    sql::conditions(plan, &mut sql);
    let sk = sql::sort_key(plan, &mut sql);
    let backward = plan.cursor.is_some_and(|c| !c.forward);
    let desc = plan.desc ^ backward;
    if let Some(c) = plan.cursor {
        let (k, r) = (sql.bind(Bind::Int(c.key)), sql.bind(Bind::Int(c.rid)));
        let op = if desc { "<" } else { ">" };
        sql.clauses.push(format!(
            "({sk} {op} {k} OR ({sk} = {k} AND r.rid {op} {r}))"
        ));
    }
    let dir = if desc { "DESC" } else { "ASC" };
    let limit = match visible {
        Some(_) => String::new(),
        None => format!(" LIMIT {}", plan.count + 1),
    };
    let text = format!(
        "SELECT r.rid, r.rtype, r.id, r.body, {sk} AS sk FROM {} WHERE {} \
         ORDER BY sk {dir}, r.rid {dir}{limit}",
        sql.from,
        sql.clauses.join(" AND "),
    );
    let want = usize::try_from(plan.count + 1).unwrap_or(usize::MAX);
    let (mut hits, cut) =
        fetch_hits(conn, &text, &sql.binds, budget, visible.map(|v| (v, want))).await?;
    let more = cut || hits.len() as i64 > plan.count;
    hits.truncate(usize::try_from(plan.count).unwrap_or(0));
    if backward {
        hits.reverse();
    }
    Ok((hits, more))
}

/// The number of matches of `plan`.
async fn count(conn: &mut AnyConnection, plan: &Plan) -> DbResult<i64> {
    let mut sql = Sql::default();
    sql::conditions(plan, &mut sql);
    let text = format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        sql.from,
        sql.clauses.join(" AND ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(text));
    for b in &sql.binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Text(s) => q.bind(s.clone()),
        };
    }
    q.fetch_one(&mut *conn).await
}

/// Up to `limit` `(rid, id)` matches of `query` on `rtype`, for conditional interactions
/// (unknown parameters are errors there).
pub(crate) async fn matches(
    conn: &mut AnyConnection,
    rtype: &str,
    query: &[(String, String)],
    limit: i64,
) -> DbResult<Result<Vec<(i64, String)>, Answer>> {
    let mut plan = match plan::parse(Some(rtype), query, true) {
        Ok(p) => p,
        Err(a) => return Ok(Err(a)),
    };
    if plan.conds.is_empty() {
        return Ok(Err(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            "a conditional interaction needs at least one search parameter",
        )));
    }
    plan.count = limit;
    plan.cursor = None;
    plan.cursor_sent = None;
    let (hits, _) = page(conn, &plan, usize::MAX, None).await?;
    Ok(Ok(hits.into_iter().map(|h| (h.rid, h.id)).collect()))
}

/// Runs a search and answers the `searchset` Bundle. The page stays within `budget` bytes
/// of resource text (`server.max_answer_bytes`): matches past it are left to the next
/// page (the `next` link starts after the last one kept); `_include`/`_revinclude`
/// resources past it, or past [`include::MAX_INCLUDES`], are left out with a warning.
///
/// With `rule` (a caller who may see only some matches), the page and its links count
/// only the matches it admits ([`page`]) and the rule is marked honoured; no total is
/// computed from the index then (it would count the others too): `Bundle.total` is given
/// only when the first page holds every admitted match, and `_summary=count` answers none.
pub(crate) async fn run(
    conn: &mut AnyConnection,
    plan: &Plan,
    base_url: &str,
    key: &cursor::CursorKey,
    budget: usize,
    rule: Option<&Visibility>,
) -> DbResult<Answer> {
    let path = plan.rtype.clone().unwrap_or_default();
    let mut head = envelope("searchset");
    let mut self_query = plan.link_params.clone();
    self_query.extend(plan.cursor_sent.clone().map(|c| ("_cursor".into(), c)));
    // The cursor of a link at the entry `h`: its type and id, never its row id.
    let rid_sort = plan.sort == plan::SortKey::Rid;
    let encode =
        |c: Cursor, h: &Hit| cursor::SearchAt::of(c, &h.rtype, &h.id, rid_sort).encode(key);
    let mut links = vec![json!({"relation": "self", "url": link(base_url, &path, &self_query)})];
    let mut entries = Vec::new();
    let mut issues: Vec<Issue> = plan
        .warnings
        .iter()
        .map(|w| Issue::warning(IssueCode::NotSupported, w.clone()))
        .collect();
    if plan.summary_count {
        if rule.is_none() {
            head["total"] = json!(count(conn, plan).await?);
        }
    } else {
        let (hits, more) = page(conn, plan, budget, rule).await?;
        let backward = plan.cursor.is_some_and(|c| !c.forward);
        if plan.total && rule.is_none() {
            head["total"] = json!(count(conn, plan).await?);
        } else if plan.cursor.is_none() && !more {
            head["total"] = json!(hits.len());
        }
        let with_cursor = |c: Cursor, h: &Hit| {
            let mut q = plan.link_params.clone();
            q.push(("_cursor".into(), encode(c, h)));
            link(base_url, &path, &q)
        };
        if let (Some(first), Some(last)) = (hits.first(), hits.last()) {
            if (backward && more) || (!backward && plan.cursor.is_some()) {
                let c = Cursor {
                    forward: false,
                    key: first.key,
                    rid: first.rid,
                };
                links.push(json!({"relation": "prev", "url": with_cursor(c, first)}));
            }
            if more || backward {
                let c = Cursor {
                    forward: true,
                    key: last.key,
                    rid: last.rid,
                };
                links.push(json!({"relation": "next", "url": with_cursor(c, last)}));
            }
        }
        let used = hits.iter().map(|h| h.body.len()).sum::<usize>();
        let (included, complete) =
            include::run(conn, plan, &hits, budget.saturating_sub(used)).await?;
        if !complete {
            issues.push(Issue::warning(
                IssueCode::TooCostly,
                format!(
                    "_include/_revinclude: not every included resource is in this page (at most {} \
                 resources, and the page within server.max_answer_bytes); use a smaller _count",
                    include::MAX_INCLUDES
                ),
            ));
        }
        for (hits, mode) in [(&hits, "match"), (&included, "include")] {
            for h in hits {
                let url = format!("{base_url}/{}/{}", h.rtype, h.id);
                entries.push(entry(
                    Some(&url),
                    Some(&h.body),
                    json!({"search": {"mode": mode}}),
                ));
            }
        }
    }
    head["link"] = Value::Array(links);
    if let Some(rule) = rule {
        rule.honour();
    }
    if !issues.is_empty() {
        let oo = operation_outcome(&issues).to_string();
        let url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        entries.push(entry(
            Some(&url),
            Some(&oo),
            json!({"search": {"mode": "outcome"}}),
        ));
    }
    Ok(Answer::new(
        StatusCode::OK,
        Body::Raw(assemble(&head, &entries)),
    ))
}
