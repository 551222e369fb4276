//! The JSON representation's own rules (FHIR R4 json.html §2.6.2): "null" only as a
//! placeholder in arrays, no empty objects, arrays or strings.

use serde_json::{Map, Value};

use crate::outcome::{Issue, IssueCode};

/// Appends an issue for every empty or null value below `resource` (at most
/// [`super::MAX_ISSUES`]).
pub(super) fn check(resource: &Value, resource_type: &str, issues: &mut Vec<Issue>) {
    walk(resource, &mut resource_type.to_owned(), issues);
}

fn walk(value: &Value, path: &mut String, issues: &mut Vec<Issue>) {
    if issues.len() >= super::MAX_ISSUES {
        return;
    }
    match value {
        Value::Object(map) if map.is_empty() => issues.push(empty(path, "an empty object")),
        Value::Object(map) => members(map, path, issues),
        Value::Array(items) if items.is_empty() => issues.push(empty(path, "an empty array")),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if item.is_null() {
                    issues.push(empty(path, "null outside a primitive array"));
                } else {
                    walk(item, path, issues);
                }
                path.truncate(len);
            }
        }
        Value::String(s) if s.is_empty() => issues.push(empty(path, "an empty string")),
        Value::Null => issues.push(empty(path, "null")),
        _ => {}
    }
}

/// An object's members; in an array of primitives that has a `_name` partner (or is the
/// partner), `null` marks a position without a value or without an extension.
fn members(map: &Map<String, Value>, path: &mut String, issues: &mut Vec<Issue>) {
    for (name, v) in map {
        let len = path.len();
        path.push('.');
        path.push_str(name);
        let partner = match name.strip_prefix('_') {
            Some(base) => map.get(base),
            None => map.get(&format!("_{name}")),
        };
        match (v, partner) {
            (Value::Array(items), Some(Value::Array(_))) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        let inner = path.len();
                        path.push_str(&format!("[{i}]"));
                        walk(item, path, issues);
                        path.truncate(inner);
                    }
                }
            }
            _ => walk(v, path, issues),
        }
        path.truncate(len);
    }
}

fn empty(path: &str, what: &str) -> Issue {
    Issue::error(
        IssueCode::Value,
        format!("{path} is {what}; FHIR JSON leaves an element out instead (json.html §2.6.2)"),
    )
    .at(path.to_owned())
}
