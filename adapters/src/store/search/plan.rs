//! Parsing a search query into a [`Plan`] (FHIR R4 §3.1.1 "Search"): parameters from the
//! table with their modifiers, the result parameters (`_count`, `_sort`, `_include`,
//! `_revinclude`, `_summary`, `_total`) and the paging cursor.

use http::StatusCode;

use super::super::answer::Answer;
use super::super::dates::{DateSearch, parse_search};
use super::super::params::{self, ParamType};
use super::cursor::Cursor;
use fhirgate_conformance::IssueCode;

/// Default page size.
pub(crate) const DEFAULT_COUNT: i64 = 50;
/// Largest page size.
pub(crate) const MAX_COUNT: i64 = 1000;

/// How a string parameter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringMode {
    /// Case- and accent-insensitive prefix (the default).
    Prefix,
    /// `:exact`.
    Exact,
    /// `:contains`.
    Contains,
}

/// One condition; values inside one condition are OR-ed, conditions are AND-ed.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    /// `_id` (`not`: `_id:not`, none of the ids).
    Id {
        /// The ids (OR-ed).
        ids: Vec<String>,
        /// `:not`.
        not: bool,
    },
    /// A condition no resource meets (`_id:missing=true`: every resource has an id).
    Never,
    /// `_lastUpdated`.
    LastUpdated(Vec<DateSearch>),
    /// Token: `(system, code)` where `None` means "any".
    Token {
        /// Parameter name.
        param: &'static str,
        /// Values.
        values: Vec<(Option<String>, Option<String>)>,
        /// `:not`.
        not: bool,
    },
    /// String.
    Str {
        /// Parameter name.
        param: &'static str,
        /// Folded (or exact) values.
        values: Vec<String>,
        /// Match mode.
        mode: StringMode,
    },
    /// Date.
    Date {
        /// Parameter name.
        param: &'static str,
        /// Values.
        values: Vec<DateSearch>,
    },
    /// Reference: `(type, id)` where a `None` type matches any.
    Ref {
        /// Parameter name.
        param: &'static str,
        /// Values.
        values: Vec<(Option<String>, String)>,
    },
    /// `:missing`.
    Missing {
        /// Index table of the parameter.
        table: &'static str,
        /// Parameter name.
        param: &'static str,
        /// `true`: resources without a value.
        missing: bool,
    },
}

/// The sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SortKey {
    /// Insertion order (stable; the default).
    Rid,
    /// `_lastUpdated`.
    LastUpdated,
    /// A date parameter.
    Date(&'static str),
}

/// An `_include` or `_revinclude`.
#[derive(Debug, Clone)]
pub(crate) struct Include {
    /// Source resource type (the one holding the reference); `None` for `*` (any type).
    pub source: Option<String>,
    /// Reference parameter; `None` for the wildcard (`*` or `Type:*`): every reference
    /// parameter the store indexes.
    pub param: Option<&'static str>,
    /// Target type restriction.
    pub target: Option<String>,
    /// `:iterate`.
    pub iterate: bool,
    /// `_revinclude`.
    pub reverse: bool,
}

/// A parsed search.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Resource type, `None` for a system search.
    pub rtype: Option<String>,
    /// `_type` of a system search: the types to search (empty: all).
    pub types: Vec<String>,
    /// Conditions.
    pub conds: Vec<Cond>,
    /// Page size.
    pub count: i64,
    /// Sort key.
    pub sort: SortKey,
    /// Descending sort.
    pub desc: bool,
    /// Includes.
    pub includes: Vec<Include>,
    /// `_summary=count` (or `_count=0`).
    pub summary_count: bool,
    /// `_total=accurate`.
    pub total: bool,
    /// Paging position, resolved from [`Plan::cursor_sent`] by [`super::position`].
    pub cursor: Option<Cursor>,
    /// The `_cursor` value as sent (a sealed [`super::cursor::SearchAt`]), repeated in the
    /// `self` link.
    pub cursor_sent: Option<String>,
    /// Ignored parameters (warnings for the outcome entry).
    pub warnings: Vec<String>,
    /// The query without `_cursor`, kept in paging links.
    pub link_params: Vec<(String, String)>,
}

/// A 400 answer with an `invalid` issue.
pub(crate) fn bad(message: impl Into<String>) -> Answer {
    Answer::error(StatusCode::BAD_REQUEST, IssueCode::Invalid, message)
}

/// Parses `query` for a search on `rtype` (`None`: all types). `strict` (`Prefer:
/// handling=strict`, conditional interactions) turns unknown parameters into 400.
pub(crate) fn parse(
    rtype: Option<&str>,
    query: &[(String, String)],
    strict: bool,
) -> Result<Plan, Answer> {
    let mut plan = Plan {
        rtype: rtype.map(str::to_owned),
        types: Vec::new(),
        conds: Vec::new(),
        count: DEFAULT_COUNT,
        sort: SortKey::Rid,
        desc: false,
        includes: Vec::new(),
        summary_count: false,
        total: false,
        cursor: None,
        cursor_sent: None,
        warnings: Vec::new(),
        link_params: Vec::new(),
    };
    for (key, value) in query {
        if key == "_cursor" {
            plan.cursor_sent = Some(value.clone());
            continue;
        }
        plan.link_params.push((key.clone(), value.clone()));
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (key.as_str(), None),
        };
        match name {
            "_format" | "_pretty" => {}
            "_count" => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| bad(format!("_count '{value}' is not a number")))?;
                if n < 0 {
                    return Err(bad("_count must not be negative"));
                }
                if n == 0 {
                    plan.summary_count = true;
                }
                plan.count = n.clamp(1, MAX_COUNT);
            }
            "_summary" => match value.as_str() {
                "count" => plan.summary_count = true,
                "false" => {}
                other => plan.warnings.push(format!(
                    "_summary={other} is not supported; full resources returned"
                )),
            },
            "_total" => plan.total = value == "accurate",
            "_sort" => parse_sort(&mut plan, rtype, value)?,
            "_include" | "_revinclude" => {
                // R4 defines `:iterate` (STU3 called it `:recurse`) and no other modifier.
                let iterate = match modifier {
                    None => false,
                    Some("iterate" | "recurse") => true,
                    Some(other) => {
                        return Err(bad(format!(
                            "modifier ':{other}' is not supported on '{name}' (only :iterate)"
                        )));
                    }
                };
                let include = parse_include(value, iterate, name == "_revinclude")?;
                plan.includes.push(include);
            }
            "_id" | "_lastUpdated" if modifier.is_some() => {
                if let Some(cond) = always_present(name, modifier, value)? {
                    plan.conds.push(cond);
                }
            }
            "_id" => plan.conds.push(Cond::Id {
                ids: value.split(',').map(str::to_owned).collect(),
                not: false,
            }),
            "_lastUpdated" => {
                let values = value
                    .split(',')
                    .map(parse_search)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad)?;
                plan.conds.push(Cond::LastUpdated(values));
            }
            "_type" if rtype.is_none() => plan.types.extend(
                value
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            _ => {
                let def = rtype.and_then(|t| params::find(t, name));
                let Some(def) = def else {
                    let msg = format!("search parameter '{key}' is not supported and was ignored");
                    if strict {
                        return Err(Answer::error(
                            StatusCode::BAD_REQUEST,
                            IssueCode::NotSupported,
                            format!("search parameter '{key}' is not supported"),
                        ));
                    }
                    plan.warnings.push(msg);
                    continue;
                };
                plan.conds
                    .push(super::cond::parse_cond(def, modifier, value)?);
            }
        }
    }
    super::include::warn_stray_sources(&mut plan);
    Ok(plan)
}

/// A modifier on `_id` or `_lastUpdated`, which every stored resource has (FHIR R4
/// search.html, "Modifiers": `:missing`, and `:not` on a token; SearchModifierCode):
/// `:missing=true` matches nothing, `:missing=false` everything (no condition); `_id:not` is
/// every resource but those ids, as `:not` on any token (comma-separated ids are
/// alternatives, so it keeps the resources whose id is none of them). Any other modifier is
/// a 400.
fn always_present(name: &str, modifier: Option<&str>, value: &str) -> Result<Option<Cond>, Answer> {
    match (name, modifier) {
        (_, Some("missing")) => match value {
            "true" => Ok(Some(Cond::Never)),
            "false" => Ok(None),
            _ => Err(bad(format!("{name}:missing takes true or false"))),
        },
        ("_id", Some("not")) => Ok(Some(Cond::Id {
            ids: value
                .split(',')
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
            not: true,
        })),
        _ => Err(bad(format!(
            "modifier ':{}' is not supported on '{name}'",
            modifier.unwrap_or("")
        ))),
    }
}

fn parse_sort(plan: &mut Plan, rtype: Option<&str>, value: &str) -> Result<(), Answer> {
    let first = value.split(',').next().unwrap_or("");
    let (desc, name) = match first.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, first),
    };
    plan.desc = desc;
    plan.sort = match name {
        "_lastUpdated" => SortKey::LastUpdated,
        "_id" | "" => SortKey::Rid,
        _ => match rtype.and_then(|t| params::find(t, name)) {
            Some(def) if def.kind == ParamType::Date => SortKey::Date(def.name),
            _ => {
                return Err(bad(format!(
                    "_sort on '{name}' is not supported: sort on _lastUpdated or a date parameter"
                )));
            }
        },
    };
    Ok(())
}

/// `Type:param[:Target]`, or the wildcard of FHIR R4 search.html "Including other
/// resources" ("any search parameter of type=reference"): `*` (any source type) or
/// `Type:*[:Target]`.
fn parse_include(value: &str, iterate: bool, reverse: bool) -> Result<Include, Answer> {
    let include = |source: Option<&str>, param, target: Option<&str>| Include {
        source: source.map(str::to_owned),
        param,
        target: target.map(str::to_owned),
        iterate,
        reverse,
    };
    if value == "*" {
        return Ok(include(None, None, None));
    }
    let mut parts = value.split(':');
    let source = parts.next().unwrap_or("");
    let param = parts.next().unwrap_or("");
    let target = parts.next();
    // An unknown target type, or more parts, would otherwise include nothing unnoticed.
    if parts.next().is_some() {
        return Err(bad(format!(
            "_include/_revinclude '{value}' is not Type:param[:Target], Type:*[:Target] or *"
        )));
    }
    if let Some(t) = target.filter(|t| !crate::interaction::is_resource_type(t)) {
        return Err(bad(format!(
            "_include/_revinclude '{value}' names target '{t}', which is not a resource type"
        )));
    }
    if param == "*" && crate::interaction::is_resource_type(source) {
        return Ok(include(Some(source), None, target));
    }
    let def = params::find(source, param)
        .filter(|d| d.kind == ParamType::Reference)
        .ok_or_else(|| {
            bad(format!(
                "_include/_revinclude '{value}' names no reference parameter (Type:param[:Target], Type:*[:Target] or *)"
            ))
        })?;
    Ok(include(Some(source), Some(def.name), target))
}
