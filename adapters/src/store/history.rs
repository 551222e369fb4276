//! History (FHIR R4 §3.1.0.9 "history"): instance, type and system history as a `history`
//! Bundle, newest first, with `_since`, `_count` and a keyset `_cursor` for `next` (other
//! parameters that would change the answer: 400, [`unsupported`]). A page stays within
//! `server.max_answer_bytes` of stored text: versions past it are left to the next page
//! (read one at a time, never loaded past the budget).

use fhirgate_conformance::IssueCode;
use http::StatusCode;
use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::Row;

use super::answer::{Answer, Body};
use super::bundle_json::{assemble, entry, envelope, link};
use super::dates::parse_range;
use super::ops::{Fail, OpResult};
use super::search::cursor::{CursorKey, HistoryAt};
use super::search::plan::{DEFAULT_COUNT, MAX_COUNT};

fn bad(msg: impl Into<String>) -> Fail {
    Fail::Client(Answer::error(
        StatusCode::BAD_REQUEST,
        IssueCode::Invalid,
        msg,
    ))
}

/// Refuses (400) a history parameter that would change the answer and is not served here,
/// rather than ignoring it (FHIR R4 http.html §3.1.0.9 defines `_count`, `_since`, `_at`
/// and `_list`): `_at`, `_list`, a `_summary` other than `false` (`count` would tell how
/// many versions a caller's page hides) and a `_sort` other than the order served
/// (`-_lastUpdated`, newest first). Anything else passes as before.
fn unsupported(name: &str, value: &str) -> Result<(), Fail> {
    match name {
        "_at" | "_list" => Err(bad(format!("{name} is not supported on history"))),
        "_summary" if value != "false" => Err(bad(format!(
            "_summary={value} is not supported on history; full versions are returned"
        ))),
        "_sort" if value != "-_lastUpdated" => Err(bad(format!(
            "_sort={value} is not supported on history: versions come newest first (-_lastUpdated)"
        ))),
        _ => Ok(()),
    }
}

/// Answers a history interaction for `rtype`/`id` (both `None`: the whole system), the
/// page within `budget` bytes of stored text (at least one version). The `next` link's
/// cursor is the last entry shown by type, id and version, sealed by `key`
/// ([`HistoryAt`]): never a row number, which would count every resource's versions.
pub(crate) async fn history(
    conn: &mut AnyConnection,
    rtype: Option<&str>,
    id: Option<&str>,
    query: &[(String, String)],
    base_url: &str,
    key: &CursorKey,
    budget: usize,
) -> OpResult {
    let mut count = DEFAULT_COUNT;
    let mut since = None;
    let mut before = None;
    let mut link_params = Vec::new();
    for (k, v) in query {
        match k.as_str() {
            "_count" => {
                let n = v
                    .parse::<i64>()
                    .map_err(|_| bad(format!("_count '{v}' is not a number")))?;
                if n < 0 {
                    return Err(bad("_count must not be negative"));
                }
                if n == 0 {
                    return Err(bad(
                        "_count=0 (the number of versions only) is not supported on history",
                    ));
                }
                count = n.min(MAX_COUNT);
            }
            "_since" => {
                since = Some(
                    parse_range(v.replace(' ', "+").as_str())
                        .ok_or_else(|| bad(format!("_since '{v}' is not a FHIR instant")))?
                        .0,
                );
            }
            "_cursor" => {
                before = Some(position(conn, key, rtype, id, v).await?);
                continue;
            }
            other => unsupported(other, v)?,
        }
        link_params.push((k.clone(), v.clone()));
    }
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut binds: Vec<Value> = Vec::new();
    let mut bind = |v: Value, clauses: &mut Vec<String>, col: &str, op: &str| {
        binds.push(v);
        clauses.push(format!("{col} {op} ${}", binds.len()));
    };
    if let Some(t) = rtype {
        bind(json!(t), &mut clauses, "rtype", "=");
    }
    if let Some(i) = id {
        bind(json!(i), &mut clauses, "id", "=");
    }
    if let Some(s) = since {
        bind(json!(s), &mut clauses, "lu", ">=");
    }
    if let Some(b) = before {
        bind(json!(b), &mut clauses, "hid", "<");
    }
    let sql = format!(
        "SELECT hid, rtype, id, version, lu, last_updated, method, body FROM history \
         WHERE {} ORDER BY hid DESC LIMIT {}",
        clauses.join(" AND "),
        count + 1
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in &binds {
        q = match b {
            Value::String(s) => q.bind(s.clone()),
            other => q.bind(other.as_i64().unwrap_or(0)),
        };
    }
    let mut rows = Vec::new();
    let mut cut = false;
    {
        use futures::TryStreamExt;
        let mut stream = q.fetch(&mut *conn);
        let mut used = 0usize;
        while let Some(row) = stream.try_next().await? {
            let body: Option<String> = row.try_get(7)?;
            used = used.saturating_add(body.map_or(0, |b| b.len()));
            if used > budget && !rows.is_empty() {
                cut = true;
                break;
            }
            rows.push(row);
        }
    }
    if rows.is_empty() && id.is_some() && before.is_none() && since.is_none() {
        return Err(Fail::Client(Answer::error(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            format!("{}/{} is not known", rtype.unwrap_or(""), id.unwrap_or("")),
        )));
    }
    let more = cut || rows.len() as i64 > count;
    rows.truncate(usize::try_from(count).unwrap_or(0));
    let path = match (rtype, id) {
        (Some(t), Some(i)) => format!("{t}/{i}/_history"),
        (Some(t), None) => format!("{t}/_history"),
        _ => "_history".to_owned(),
    };
    let mut head = envelope("history");
    let mut links = vec![json!({"relation": "self", "url": link(base_url, &path, query)})];
    let mut entries = Vec::new();
    let mut last = None;
    for row in &rows {
        let (t, i): (String, String) = (row.try_get(1)?, row.try_get(2)?);
        let version: i64 = row.try_get(3)?;
        let last_updated: String = row.try_get(5)?;
        let method: String = row.try_get(6)?;
        let body: Option<String> = row.try_get(7)?;
        let (url, status) = match method.as_str() {
            "POST" => (t.clone(), "201 Created"),
            "DELETE" => (format!("{t}/{i}"), "204 No Content"),
            _ => (
                format!("{t}/{i}"),
                if version == 1 {
                    "201 Created"
                } else {
                    "200 OK"
                },
            ),
        };
        let rest = json!({
            "request": {"method": method, "url": url},
            "response": {"status": status, "etag": format!("W/\"{version}\""), "lastModified": last_updated},
        });
        let full = format!("{base_url}/{t}/{i}");
        entries.push(entry(Some(&full), body.as_deref(), rest));
        last = Some(HistoryAt {
            rtype: t,
            id: i,
            version,
        });
    }
    if let (true, Some(at)) = (more, last) {
        let mut q = link_params.clone();
        q.push(("_cursor".into(), at.encode(key)));
        links.push(json!({"relation": "next", "url": link(base_url, &path, &q)}));
    }
    if !more && before.is_none() {
        head["total"] = json!(entries.len());
    }
    head["link"] = Value::Array(links);
    Ok(Answer::new(
        StatusCode::OK,
        Body::Raw(assemble(&head, &entries)),
    ))
}

/// The history row id after which the page of the `_cursor` value `value` starts: the row
/// of the entry it names, which must be one of this history's (same type, and same id for
/// an instance history). Otherwise, or when `key` did not seal it, 400 invalid.
async fn position(
    conn: &mut AnyConnection,
    key: &CursorKey,
    rtype: Option<&str>,
    id: Option<&str>,
    value: &str,
) -> Result<i64, Fail> {
    let invalid = || bad("invalid _cursor");
    let at = HistoryAt::decode(key, value).ok_or_else(invalid)?;
    if rtype.is_some_and(|t| t != at.rtype) || id.is_some_and(|i| i != at.id) {
        return Err(invalid());
    }
    let hid: Option<i64> =
        sqlx::query_scalar("SELECT hid FROM history WHERE rtype = $1 AND id = $2 AND version = $3")
            .bind(&at.rtype)
            .bind(&at.id)
            .bind(at.version)
            .fetch_optional(&mut *conn)
            .await?;
    hid.ok_or_else(invalid)
}
