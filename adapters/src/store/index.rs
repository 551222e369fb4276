//! Index rows extracted from a resource on every write, one table per parameter type, so
//! that search is SQL over the index tables and never a scan of resource bodies.

use serde_json::Value;

use super::dates::{OPEN_HIGH, OPEN_LOW, parse_range};
use super::params::{self, ParamType};
use super::text::fold;
use crate::interaction::{is_resource_type, is_valid_id};

/// The index rows of one resource version.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexRows {
    /// `(param, system, code)`; a missing system is `""`.
    pub tokens: Vec<(&'static str, String, String)>,
    /// `(param, folded value, raw value)`.
    pub strings: Vec<(&'static str, String, String)>,
    /// `(param, low µs, high µs)`, half-open.
    pub dates: Vec<(&'static str, i64, i64)>,
    /// `(param, target type, target id)`.
    pub refs: Vec<(&'static str, String, String)>,
}

/// Collects the nodes at `path` below `v`, flattening arrays on the way.
fn walk<'a>(v: &'a Value, path: &[&str], out: &mut Vec<&'a Value>) {
    if let Value::Array(items) = v {
        for item in items {
            walk(item, path, out);
        }
        return;
    }
    match path.split_first() {
        None => out.push(v),
        Some((head, rest)) => {
            if let Some(child) = v.get(*head) {
                walk(child, rest, out);
            }
        }
    }
}

/// `Type/id` from a literal reference: relative, absolute (`http://x/fhir/Patient/1`) or
/// versioned (`Patient/1/_history/2`). `None` for contained (`#x`), `urn:` and other forms.
pub(crate) fn parse_reference(reference: &str) -> Option<(String, String)> {
    let path = reference.split(['?', '#']).next().unwrap_or("");
    let mut segments: Vec<&str> = path.split('/').collect();
    if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
        segments.truncate(segments.len() - 2);
    }
    let n = segments.len();
    if n < 2 {
        return None;
    }
    let (rt, id) = (segments[n - 2], segments[n - 1]);
    (is_resource_type(rt) && is_valid_id(id)).then(|| (rt.to_owned(), id.to_owned()))
}

fn tokens_of(node: &Value, out: &mut Vec<(String, String)>) {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    match node {
        Value::String(s) => out.push((String::new(), s.clone())),
        Value::Bool(b) => out.push((String::new(), b.to_string())),
        Value::Object(map) => {
            if let Some(Value::Array(codings)) = map.get("coding") {
                for c in codings {
                    if let Some(code) = c.get("code").and_then(Value::as_str) {
                        out.push((text(c.get("system")), code.to_owned()));
                    }
                }
            } else if let Some(code) = map.get("code").and_then(Value::as_str) {
                out.push((text(map.get("system")), code.to_owned()));
            } else if let Some(value) = map.get("value").and_then(Value::as_str) {
                out.push((text(map.get("system")), value.to_owned()));
            }
        }
        _ => {}
    }
}

fn strings_of(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::String(s) => out.push(s.clone()),
        Value::Object(map) => {
            for key in [
                "family",
                "text",
                "city",
                "district",
                "state",
                "postalCode",
                "country",
            ] {
                if let Some(s) = map.get(key).and_then(Value::as_str) {
                    out.push(s.to_owned());
                }
            }
            for key in ["given", "prefix", "suffix", "line"] {
                if let Some(Value::Array(parts)) = map.get(key) {
                    out.extend(parts.iter().filter_map(Value::as_str).map(str::to_owned));
                }
            }
            let given: Vec<&str> = map
                .get("given")
                .and_then(Value::as_array)
                .map(|g| g.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let (false, Some(family)) =
                (given.is_empty(), map.get("family").and_then(Value::as_str))
            {
                out.push(format!("{} {family}", given.join(" ")));
            }
        }
        _ => {}
    }
}

fn date_of(node: &Value) -> Option<(i64, i64)> {
    match node {
        Value::String(s) => parse_range(s),
        Value::Object(map) => {
            let start = map.get("start").and_then(Value::as_str);
            let end = map.get("end").and_then(Value::as_str);
            if start.is_none() && end.is_none() {
                return None;
            }
            let lo = start.and_then(parse_range).map_or(OPEN_LOW, |r| r.0);
            let hi = end.and_then(parse_range).map_or(OPEN_HIGH, |r| r.1);
            Some((lo, hi))
        }
        _ => None,
    }
}

/// Extracts the index rows of `resource` (of type `rtype`) per the parameter table.
pub(crate) fn extract(rtype: &str, resource: &Value) -> IndexRows {
    let mut rows = IndexRows::default();
    for def in params::of(rtype) {
        let mut nodes = Vec::new();
        for path in def.paths {
            let parts: Vec<&str> = path.split('.').collect();
            walk(resource, &parts, &mut nodes);
        }
        for node in nodes {
            match def.kind {
                ParamType::Token => {
                    let mut found = Vec::new();
                    tokens_of(node, &mut found);
                    rows.tokens
                        .extend(found.into_iter().map(|(s, c)| (def.name, s, c)));
                }
                ParamType::String => {
                    let mut found = Vec::new();
                    strings_of(node, &mut found);
                    rows.strings
                        .extend(found.into_iter().map(|s| (def.name, fold(&s), s)));
                }
                ParamType::Date => {
                    if let Some((lo, hi)) = date_of(node) {
                        rows.dates.push((def.name, lo, hi));
                    }
                }
                ParamType::Reference => {
                    let target = node
                        .get("reference")
                        .and_then(Value::as_str)
                        .and_then(parse_reference);
                    if let Some((rt, id)) = target
                        && def.target.is_none_or(|t| t == rt)
                    {
                        rows.refs.push((def.name, rt, id));
                    }
                }
            }
        }
    }
    rows.tokens.dedup();
    rows.strings.dedup();
    rows.dates.dedup();
    rows.refs.dedup();
    rows
}
