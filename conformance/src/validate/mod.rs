//! Structural validation of a resource a client writes (FHIR R4 4.0.1 http.html §3.1.0.4:
//! "400 Bad Request - resource could not be parsed or failed basic FHIR validation rules").
//!
//! Two layers:
//! - the JSON rules of json.html §2.6.2 for every resource type: no `null` (except as a
//!   placeholder in an array paired with its `_element` array), no empty object, array or
//!   string;
//! - for the resource types listed in [`TYPED`], the element definitions: the resource is
//!   read into fhir-sdk's R4B model of its type (the same elements as R4 4.0.1 for these
//!   types, each tested against R4 examples) and written back; a wrong datatype, a code
//!   outside a required binding, a missing 1..1 element, and any element the definition
//!   does not have (compared member by member with what the model wrote back) is an issue
//!   with its FHIRPath `expression`.
//!
//! The model is only a checker: what is stored is the client's JSON, byte values intact.
//! Profiles, invariants and terminology beyond required bindings are not checked.

mod json_rules;
mod typed;

use serde_json::Value;

use crate::outcome::{Issue, IssueCode};

pub use typed::TYPED;

/// At most this many issues are reported for one resource.
pub const MAX_ISSUES: usize = 20;

/// Validates `resource` (a JSON object with `resourceType`); the issues found, empty when
/// it is valid. Issues are errors with codes `structure` (shape, datatype, unknown element),
/// `required` (missing 1..1 element), `value` (empty or null value, code outside its
/// required binding) or `invalid` (not a resource), each with a FHIRPath expression such as
/// `Observation.component[0].code`.
pub fn validate(resource: &Value) -> Vec<Issue> {
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        return vec![Issue::error(
            IssueCode::Invalid,
            "the body is not a FHIR resource: no resourceType",
        )];
    };
    let mut issues = Vec::new();
    json_rules::check(resource, resource_type, &mut issues);
    if issues.is_empty() {
        typed::check(resource, resource_type, &mut issues);
    }
    issues.truncate(MAX_ISSUES);
    issues
}

#[cfg(test)]
mod tests;
