//! One search parameter's values and modifiers into a [`Cond`] (FHIR R4 §3.1.1.4:
//! token `[system]|[code]`, reference `[Type/]id` or absolute URL, string `:exact` /
//! `:contains`, date prefixes, `:missing`, `:not`, `:[Type]`).

use super::super::answer::Answer;
use super::super::dates::parse_search;
use super::super::index::parse_reference;
use super::super::params::{self, ParamType};
use super::plan::{Cond, StringMode, bad};
use crate::interaction::is_resource_type;

/// `system|code`, `|code`, `system|` or `code`.
fn token_value(v: &str) -> (Option<String>, Option<String>) {
    match v.split_once('|') {
        None => (None, Some(v.to_owned())),
        Some((s, c)) => (Some(s.to_owned()), (!c.is_empty()).then(|| c.to_owned())),
    }
}

/// `Type/id`, an absolute URL ending in `Type/id`, or a bare id (typed by the modifier
/// or the parameter's target).
fn ref_value(v: &str, modifier: Option<&str>, target: Option<&str>) -> (Option<String>, String) {
    if let Some((t, id)) = parse_reference(v) {
        return (Some(t), id);
    }
    let ty = modifier.or(target).map(str::to_owned);
    (ty, v.to_owned())
}

/// The condition for `def` with `modifier` and the comma-separated `value`.
pub(crate) fn parse_cond(
    def: &'static params::ParamDef,
    modifier: Option<&str>,
    value: &str,
) -> Result<Cond, Answer> {
    let table = match def.kind {
        ParamType::Token => "idx_token",
        ParamType::String => "idx_string",
        ParamType::Date => "idx_date",
        ParamType::Reference => "idx_ref",
    };
    if modifier == Some("missing") {
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => return Err(bad(format!("{}:missing takes true or false", def.name))),
        };
        return Ok(Cond::Missing {
            table,
            param: def.name,
            missing,
        });
    }
    let values = value.split(',').filter(|v| !v.is_empty());
    let unsupported = || {
        bad(format!(
            "modifier ':{}' is not supported on '{}'",
            modifier.unwrap_or(""),
            def.name
        ))
    };
    Ok(match def.kind {
        ParamType::Token => {
            let not = match modifier {
                None => false,
                Some("not") => true,
                Some(_) => return Err(unsupported()),
            };
            Cond::Token {
                param: def.name,
                values: values.map(token_value).collect(),
                not,
            }
        }
        ParamType::String => {
            let mode = match modifier {
                None => StringMode::Prefix,
                Some("exact") => StringMode::Exact,
                Some("contains") => StringMode::Contains,
                Some(_) => return Err(unsupported()),
            };
            let values = values
                .map(|v| {
                    if mode == StringMode::Exact {
                        v.to_owned()
                    } else {
                        super::super::text::fold(v)
                    }
                })
                .collect();
            Cond::Str {
                param: def.name,
                values,
                mode,
            }
        }
        ParamType::Date => {
            if modifier.is_some() {
                return Err(unsupported());
            }
            let values = values
                .map(parse_search)
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
            Cond::Date {
                param: def.name,
                values,
            }
        }
        ParamType::Reference => {
            if let Some(m) = modifier
                && !is_resource_type(m)
            {
                return Err(unsupported());
            }
            Cond::Ref {
                param: def.name,
                values: values.map(|v| ref_value(v, modifier, def.target)).collect(),
            }
        }
    })
}
