//! `_include` and `_revinclude` (FHIR R4 §3.1.1.5.4 "Including other resources"): the
//! resources the matches reference, or that reference the matches, through a reference
//! parameter; `:iterate` applies once more to what was included.

use std::collections::HashSet;

use sqlx::AnyConnection;

use super::super::db::DbResult;
use super::plan::{Include, Plan};
use super::sql::Bind;
use super::{Hit, fetch_hits};

/// Resources `inc` adds for `from` (skipping ids in `seen`).
async fn one(conn: &mut AnyConnection, inc: &Include, from: &[Hit]) -> DbResult<Vec<Hit>> {
    let sources: Vec<&Hit> = from.iter().collect();
    if inc.reverse {
        // Resources of type `inc.source` whose `inc.param` points at one of `from`.
        let mut out = Vec::new();
        let types: HashSet<&str> = sources.iter().map(|h| h.rtype.as_str()).collect();
        for ty in types {
            if inc.target.as_deref().is_some_and(|t| t != ty) {
                continue;
            }
            let ids: Vec<&str> = sources
                .iter()
                .filter(|h| h.rtype == ty)
                .map(|h| h.id.as_str())
                .collect();
            let mut binds = vec![
                Bind::Text(inc.param.to_owned()),
                Bind::Text(inc.source.clone()),
                Bind::Text(ty.to_owned()),
            ];
            let mut ps = Vec::new();
            for id in ids {
                binds.push(Bind::Text(id.to_owned()));
                ps.push(format!("${}", binds.len()));
            }
            let sql = format!(
                "SELECT DISTINCT r.rid, r.rtype, r.id, r.body, r.rid FROM idx_ref x \
                 JOIN resources r ON r.rid = x.rid WHERE x.param = $1 AND r.rtype = $2 \
                 AND r.deleted = 0 AND x.ref_type = $3 AND x.ref_id IN ({})",
                ps.join(", ")
            );
            out.extend(fetch_hits(conn, &sql, &binds).await?);
        }
        Ok(out)
    } else {
        let rids: Vec<String> = sources
            .iter()
            .filter(|h| h.rtype == inc.source)
            .map(|h| h.rid.to_string())
            .collect();
        if rids.is_empty() {
            return Ok(Vec::new());
        }
        let mut binds = vec![Bind::Text(inc.param.to_owned())];
        let target = match &inc.target {
            Some(t) => {
                binds.push(Bind::Text(t.clone()));
                " AND x.ref_type = $2"
            }
            None => "",
        };
        let sql = format!(
            "SELECT DISTINCT r.rid, r.rtype, r.id, r.body, r.rid FROM idx_ref x \
             JOIN resources r ON r.rtype = x.ref_type AND r.id = x.ref_id \
             WHERE x.param = $1{target} AND r.deleted = 0 AND x.rid IN ({})",
            rids.join(", ")
        );
        fetch_hits(conn, &sql, &binds).await
    }
}

/// The included resources for the page `hits`, each once and never one of the matches.
pub(crate) async fn run(conn: &mut AnyConnection, plan: &Plan, hits: &[Hit]) -> DbResult<Vec<Hit>> {
    let mut seen: HashSet<i64> = hits.iter().map(|h| h.rid).collect();
    let mut out: Vec<Hit> = Vec::new();
    if hits.is_empty() || plan.includes.is_empty() {
        return Ok(out);
    }
    for inc in &plan.includes {
        for h in one(conn, inc, hits).await? {
            if seen.insert(h.rid) {
                out.push(h);
            }
        }
    }
    let first_level = out.clone();
    if !first_level.is_empty() {
        for inc in plan.includes.iter().filter(|i| i.iterate) {
            for h in one(conn, inc, &first_level).await? {
                if seen.insert(h.rid) {
                    out.push(h);
                }
            }
        }
    }
    Ok(out)
}
