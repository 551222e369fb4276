//! SQL for a [`Plan`]: `rid IN (SELECT … FROM idx_…)` per condition, the sort key
//! expression and the keyset condition; values are bound, never spliced.
//!
//! A resource has as many index rows for a parameter as values at its paths (each name's
//! family, given and full text; each identifier), and several can match one search value:
//! every subquery selects `DISTINCT` rids, so a resource is matched, counted and paged once
//! (FHIR R4 §3.1.1: a search returns the set of matching resources).

use super::super::dates::{OPEN_HIGH, OPEN_LOW, condition};
use super::super::text::like_escape;
use super::plan::{Cond, Plan, SortKey, StringMode};

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    /// Integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// SQL text with its numbered binds.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    /// The FROM clause (`resources r`, or the driving rid set joined to it).
    pub from: String,
    /// Conditions to AND.
    pub clauses: Vec<String>,
    /// Values for `$1…`.
    pub binds: Vec<Bind>,
}

impl Sql {
    /// Adds a bind and returns its placeholder.
    pub(crate) fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn text(&mut self, s: &str) -> String {
        self.bind(Bind::Text(s.to_owned()))
    }

    fn int(&mut self, v: i64) -> String {
        self.bind(Bind::Int(v))
    }
}

/// How a condition enters the query.
enum Part {
    /// A subquery of matching rids: intersected into the driving set.
    Driving(String),
    /// A filter on the joined resource row (negations, `_id`, `_lastUpdated`).
    Filter(String),
}

/// The FROM clause and WHERE conditions of `plan` (without keyset). Positive index
/// conditions are intersected into a driving rid set joined first (`CROSS JOIN` fixes the
/// join order on SQLite, whose planner would otherwise walk the type's rows in rid order
/// to skip the sort), so a selective search reads only its matches.
pub(crate) fn conditions(plan: &Plan, sql: &mut Sql) {
    let mut driving = Vec::new();
    let mut filters = Vec::new();
    if let Some(rt) = &plan.rtype {
        let p = sql.text(rt);
        filters.push(format!("r.rtype = {p}"));
    } else if !plan.types.is_empty() {
        let ps: Vec<String> = plan.types.iter().map(|t| sql.text(t)).collect();
        filters.push(format!("r.rtype IN ({})", ps.join(", ")));
    }
    filters.push("r.deleted = 0".into());
    for cond in &plan.conds {
        match cond_sql(cond, sql) {
            Part::Driving(q) => driving.push(q),
            Part::Filter(f) => filters.push(f),
        }
    }
    if driving.is_empty() {
        sql.from = "resources r".into();
    } else {
        sql.from = format!(
            "({}) hits CROSS JOIN resources r",
            driving.join(" INTERSECT ")
        );
        filters.push("r.rid = hits.rid".into());
    }
    sql.clauses = filters;
}

fn or(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "1 = 0".into()
    } else {
        format!("({})", parts.join(" OR "))
    }
}

fn cond_sql(cond: &Cond, sql: &mut Sql) -> Part {
    match cond {
        Cond::Id { ids, not } => {
            let ps: Vec<String> = ids.iter().map(|i| sql.text(i)).collect();
            match (ps.is_empty(), *not) {
                (true, true) => Part::Filter("1 = 1".into()),
                (true, false) => Part::Filter("1 = 0".into()),
                (false, true) => Part::Filter(format!("r.id NOT IN ({})", ps.join(", "))),
                (false, false) => Part::Filter(format!("r.id IN ({})", ps.join(", "))),
            }
        }
        Cond::Never => Part::Filter("1 = 0".into()),
        Cond::LastUpdated(values) => {
            let parts = values
                .iter()
                .map(|d| {
                    let (lo, hi) = (sql.int(d.low), sql.int(d.high));
                    condition(d.prefix, "r.lu", "(r.lu + 1)", &lo, &hi)
                })
                .collect();
            Part::Filter(or(parts))
        }
        Cond::Token { param, values, not } => {
            let p = sql.text(param);
            let parts = values
                .iter()
                .map(|(system, code)| {
                    let mut c = Vec::new();
                    if let Some(s) = system {
                        c.push(format!("t.system = {}", sql.text(s)));
                    }
                    if let Some(v) = code {
                        c.push(format!("t.code = {}", sql.text(v)));
                    }
                    if c.is_empty() {
                        "1 = 1".into()
                    } else {
                        format!("({})", c.join(" AND "))
                    }
                })
                .collect();
            let q = format!(
                "SELECT DISTINCT t.rid FROM idx_token t WHERE t.param = {p} AND {}",
                or(parts)
            );
            if *not {
                Part::Filter(format!("r.rid NOT IN ({q})"))
            } else {
                Part::Driving(q)
            }
        }
        Cond::Str {
            param,
            values,
            mode,
        } => {
            let p = sql.text(param);
            let parts = values
                .iter()
                .map(|v| match mode {
                    StringMode::Exact => format!("s.raw = {}", sql.text(v)),
                    StringMode::Prefix => {
                        let pat = sql.text(&format!("{}%", like_escape(v)));
                        format!("s.norm LIKE {pat} ESCAPE '\\'")
                    }
                    StringMode::Contains => {
                        let pat = sql.text(&format!("%{}%", like_escape(v)));
                        format!("s.norm LIKE {pat} ESCAPE '\\'")
                    }
                })
                .collect();
            Part::Driving(format!(
                "SELECT DISTINCT s.rid FROM idx_string s WHERE s.param = {p} AND {}",
                or(parts)
            ))
        }
        Cond::Date { param, values } => {
            let p = sql.text(param);
            let parts = values
                .iter()
                .map(|d| {
                    let (lo, hi) = (sql.int(d.low), sql.int(d.high));
                    condition(d.prefix, "d.lo", "d.hi", &lo, &hi)
                })
                .collect();
            Part::Driving(format!(
                "SELECT DISTINCT d.rid FROM idx_date d WHERE d.param = {p} AND {}",
                or(parts)
            ))
        }
        Cond::Ref { param, values } => {
            let p = sql.text(param);
            let parts = values
                .iter()
                .map(|(ty, id)| {
                    let id = format!("x.ref_id = {}", sql.text(id));
                    match ty {
                        Some(t) => format!("(x.ref_type = {} AND {id})", sql.text(t)),
                        None => id,
                    }
                })
                .collect();
            Part::Driving(format!(
                "SELECT DISTINCT x.rid FROM idx_ref x WHERE x.param = {p} AND {}",
                or(parts)
            ))
        }
        Cond::Missing {
            table,
            param,
            missing,
        } => {
            let p = sql.text(param);
            let q = format!("SELECT DISTINCT m.rid FROM {table} m WHERE m.param = {p}");
            if *missing {
                Part::Filter(format!("r.rid NOT IN ({q})"))
            } else {
                Part::Driving(q)
            }
        }
    }
}

/// The sort key expression of `plan` (an integer); dates sort on their lower bound
/// ascending and upper bound descending, missing values last.
pub(crate) fn sort_key(plan: &Plan, sql: &mut Sql) -> String {
    match &plan.sort {
        SortKey::Rid => "r.rid".into(),
        SortKey::LastUpdated => "r.lu".into(),
        SortKey::Date(param) => {
            let p = sql.text(param);
            if plan.desc {
                format!(
                    "COALESCE((SELECT MAX(d.hi) FROM idx_date d WHERE d.rid = r.rid AND d.param = {p}), {OPEN_LOW})"
                )
            } else {
                format!(
                    "COALESCE((SELECT MIN(d.lo) FROM idx_date d WHERE d.rid = r.rid AND d.param = {p}), {OPEN_HIGH})"
                )
            }
        }
    }
}
