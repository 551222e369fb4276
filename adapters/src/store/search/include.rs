//! `_include` and `_revinclude` (FHIR R4 §3.1.1.5.4 "Including other resources"): the
//! resources the matches reference, or that reference the matches, through a reference
//! parameter; `:iterate` applies once more to what was included. A page includes at most
//! [`MAX_INCLUDES`] resources within a byte budget (IBM/LinuxForHealth FHIR bounds them
//! the same way with `maxPageIncludeCount`); what is left out is reported in the page's
//! outcome entry, never silently lost.

use std::collections::HashSet;

use sqlx::AnyConnection;

use super::super::db::DbResult;
use super::plan::{Include, Plan};
use super::sql::Bind;
use super::{Hit, fetch_hits_within};

/// Most resources one search page includes through `_include`/`_revinclude`.
pub(crate) const MAX_INCLUDES: usize = 1000;

/// Up to `cap` resources `inc` adds for `from`, in row order, read within `budget` bytes;
/// `true` when the budget stopped the reading.
async fn one(
    conn: &mut AnyConnection,
    inc: &Include,
    from: &[Hit],
    cap: usize,
    budget: usize,
) -> DbResult<(Vec<Hit>, bool)> {
    let sources: Vec<&Hit> = from.iter().collect();
    if inc.reverse {
        // Resources of type `inc.source` whose `inc.param` points at one of `from`.
        let mut out: Vec<Hit> = Vec::new();
        let mut cut = false;
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
                 AND r.deleted = 0 AND x.ref_type = $3 AND x.ref_id IN ({}) \
                 ORDER BY r.rid LIMIT {cap}",
                ps.join(", ")
            );
            let used: usize = out.iter().map(|h| h.body.len()).sum();
            let (hits, stopped) =
                fetch_hits_within(conn, &sql, &binds, budget.saturating_sub(used)).await?;
            out.extend(hits);
            cut |= stopped;
        }
        Ok((out, cut))
    } else {
        let rids: Vec<String> = sources
            .iter()
            .filter(|h| h.rtype == inc.source)
            .map(|h| h.rid.to_string())
            .collect();
        if rids.is_empty() {
            return Ok((Vec::new(), false));
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
             WHERE x.param = $1{target} AND r.deleted = 0 AND x.rid IN ({}) \
             ORDER BY r.rid LIMIT {cap}",
            rids.join(", ")
        );
        fetch_hits_within(conn, &sql, &binds, budget).await
    }
}

/// What a page includes so far: the resources, their ids, the bytes left.
struct Included {
    seen: HashSet<i64>,
    out: Vec<Hit>,
    budget: usize,
    complete: bool,
}

impl Included {
    /// Room for how many more rows to ask for (one more than fits, to notice the rest).
    fn cap(&self) -> usize {
        MAX_INCLUDES.saturating_sub(self.out.len()) + 1
    }

    /// Adds the unseen `hits` that fit; `asked` is the cap the query ran with, `cut`
    /// whether the byte budget stopped it.
    fn add(&mut self, (hits, cut): (Vec<Hit>, bool), asked: usize) {
        if cut || hits.len() >= asked {
            self.complete = false;
        }
        for h in hits {
            if self.seen.contains(&h.rid) {
                continue;
            }
            if self.out.len() >= MAX_INCLUDES || h.body.len() > self.budget {
                self.complete = false;
                continue;
            }
            self.budget -= h.body.len();
            self.seen.insert(h.rid);
            self.out.push(h);
        }
    }
}

/// The included resources for the page `hits`, each once and never one of the matches,
/// at most [`MAX_INCLUDES`] and `budget` bytes of them; `false` when some were left out.
pub(crate) async fn run(
    conn: &mut AnyConnection,
    plan: &Plan,
    hits: &[Hit],
    budget: usize,
) -> DbResult<(Vec<Hit>, bool)> {
    let mut inc = Included {
        seen: hits.iter().map(|h| h.rid).collect(),
        out: Vec::new(),
        budget,
        complete: true,
    };
    if hits.is_empty() || plan.includes.is_empty() {
        return Ok((inc.out, true));
    }
    for i in &plan.includes {
        let cap = inc.cap();
        let found = one(conn, i, hits, cap, inc.budget).await?;
        inc.add(found, cap);
    }
    let first_level = inc.out.clone();
    if !first_level.is_empty() {
        for i in plan.includes.iter().filter(|i| i.iterate) {
            let cap = inc.cap();
            let found = one(conn, i, &first_level, cap, inc.budget).await?;
            inc.add(found, cap);
        }
    }
    Ok((inc.out, inc.complete))
}
