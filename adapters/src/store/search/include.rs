//! `_include` and `_revinclude` (FHIR R4 search.html "Including other resources"): the
//! resources the matches reference, or that reference the matches, through a reference
//! parameter, or through any reference parameter the store indexes for the wildcard (`*`,
//! `Type:*[:Target]`); `:iterate` applies once more to what was included. A page includes
//! at most [`MAX_INCLUDES`] resources within a byte budget (IBM/LinuxForHealth FHIR bounds
//! them the same way with `maxPageIncludeCount`); what is left out is reported in the
//! page's outcome entry, never silently lost.

use std::collections::HashSet;

use sqlx::AnyConnection;

use super::super::db::DbResult;
use super::super::params::{self, ParamType};
use super::plan::{Include, Plan};
use super::sql::Bind;
use super::{Hit, fetch_hits_within};

/// Most resources one search page includes through `_include`/`_revinclude`.
pub(crate) const MAX_INCLUDES: usize = 1000;

/// A warning (the page's outcome entry) for each `_include` without `:iterate` whose source
/// type no match of `plan` can have, e.g. `Observation?_include=Patient:general-practitioner`:
/// it includes nothing, and the client is told so instead of finding out by absence. Not an
/// error: FHIR R4 search.html "Including other resources" applies an `_include` "for each
/// returned resource" and says "If there is no reference, or no matching resource, [...] then
/// the resource is omitted, and no error is returned"; only `:iterate` (or its STU3 name
/// `:recurse`) applies it to included resources as well. Clients written against servers
/// that iterate by default (`MedicationDispense?_include=MedicationDispense:prescription
/// &_include=MedicationRequest:requester`) keep working. `_revinclude` names the referencing
/// type (any); a search of every type (no type, no `_type`) can match any source.
pub(crate) fn warn_stray_sources(plan: &mut Plan) {
    let searched: Vec<String> = match &plan.rtype {
        Some(rtype) => vec![rtype.clone()],
        None => plan.types.clone(),
    };
    if searched.is_empty() {
        return;
    }
    let mut stray: Vec<String> = plan
        .includes
        .iter()
        .filter(|i| !i.reverse && !i.iterate)
        .filter_map(|i| i.source.clone())
        .filter(|source| !searched.contains(source))
        .collect();
    stray.sort();
    stray.dedup();
    let searched = match searched.as_slice() {
        [one] => format!("the searched type {one}"),
        several => format!("any of the searched types {}", several.join(", ")),
    };
    for source in stray {
        plan.warnings.push(format!(
            "_include source type {source} is not {searched}: without :iterate it applies to the matches only and includes nothing"
        ));
    }
}

/// `$n, $n+1, …` for `values`, bound after those already in `binds`.
fn placeholders(binds: &mut Vec<Bind>, values: impl IntoIterator<Item = String>) -> String {
    let mut ps = Vec::new();
    for v in values {
        binds.push(Bind::Text(v));
        ps.push(format!("${}", binds.len()));
    }
    ps.join(", ")
}

/// The reference parameters `inc` follows: its own, or for the wildcard every reference
/// parameter the store indexes on its source type (on every type for `*`), each name once.
fn reference_params(inc: &Include) -> Vec<&'static str> {
    if let Some(p) = inc.param {
        return vec![p];
    }
    let mut names: Vec<&'static str> = params::all()
        .filter(|p| p.kind == ParamType::Reference)
        .filter(|p| inc.source.as_deref().is_none_or(|s| p.resource == s))
        .map(|p| p.name)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Up to `cap` resources `inc` adds for `from`, in row order, read within `budget` bytes;
/// `true` when the budget stopped the reading.
async fn one(
    conn: &mut AnyConnection,
    inc: &Include,
    from: &[Hit],
    cap: usize,
    budget: usize,
) -> DbResult<(Vec<Hit>, bool)> {
    if inc.reverse {
        // Resources (of type `inc.source`, any for `*`) whose reference parameter points
        // at one of `from`.
        let names = reference_params(inc);
        let mut out: Vec<Hit> = Vec::new();
        let mut cut = false;
        let types: HashSet<&str> = from.iter().map(|h| h.rtype.as_str()).collect();
        for ty in types {
            if names.is_empty() || inc.target.as_deref().is_some_and(|t| t != ty) {
                continue;
            }
            let mut binds = Vec::new();
            // `param IN (…)` keeps the lookup on the (param, ref_id, rid) index.
            let params = placeholders(&mut binds, names.iter().map(|n| (*n).to_owned()));
            let source = match &inc.source {
                Some(s) => {
                    binds.push(Bind::Text(s.clone()));
                    format!(" AND r.rtype = ${}", binds.len())
                }
                None => String::new(),
            };
            binds.push(Bind::Text(ty.to_owned()));
            let ref_type = binds.len();
            let ids = placeholders(
                &mut binds,
                from.iter().filter(|h| h.rtype == ty).map(|h| h.id.clone()),
            );
            let sql = format!(
                "SELECT DISTINCT r.rid, r.rtype, r.id, r.body, r.rid FROM idx_ref x \
                 JOIN resources r ON r.rid = x.rid WHERE x.param IN ({params}){source} \
                 AND r.deleted = 0 AND x.ref_type = ${ref_type} AND x.ref_id IN ({ids}) \
                 ORDER BY r.rid LIMIT {cap}"
            );
            let used: usize = out.iter().map(|h| h.body.len()).sum();
            let (hits, stopped) =
                fetch_hits_within(conn, &sql, &binds, budget.saturating_sub(used)).await?;
            out.extend(hits);
            cut |= stopped;
        }
        Ok((out, cut))
    } else {
        let rids: Vec<String> = from
            .iter()
            .filter(|h| inc.source.as_deref().is_none_or(|s| h.rtype == s))
            .map(|h| h.rid.to_string())
            .collect();
        if rids.is_empty() {
            return Ok((Vec::new(), false));
        }
        let mut binds = Vec::new();
        let mut conditions = String::new();
        if let Some(p) = inc.param {
            binds.push(Bind::Text(p.to_owned()));
            conditions.push_str(&format!(" AND x.param = ${}", binds.len()));
        }
        if let Some(t) = &inc.target {
            binds.push(Bind::Text(t.clone()));
            conditions.push_str(&format!(" AND x.ref_type = ${}", binds.len()));
        }
        let sql = format!(
            "SELECT DISTINCT r.rid, r.rtype, r.id, r.body, r.rid FROM idx_ref x \
             JOIN resources r ON r.rtype = x.ref_type AND r.id = x.ref_id \
             WHERE x.rid IN ({}){conditions} AND r.deleted = 0 \
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
