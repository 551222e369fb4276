//! `Bundle.total` of a restricted caller's search (FHIR R4 bundle.html: `Bundle.total` is
//! 0..1, the number of matches of the whole search). A search on `Patient` or on a type of
//! the Patient compartment is narrowed before it reaches the adapter ([`crate::auth::narrow`]),
//! so its total counts exactly what the post-filter lets through. A search on any other type
//! (Device, Task, Medication, Practitioner, Organization …) cannot be narrowed: the store
//! counts every patient's resources and the post-filter drops the entries naming other
//! patients page by page, so its `total` (and a `_summary=count` answer, which is nothing
//! but the total) would tell a patient-restricted caller how many other patients' resources
//! exist. Such a searchset never carries `total`.
//!
//! The rule applies to every type outside the compartment, not only those that can name a
//! patient (Device.patient, Task.for): which elements reference a Patient is not fixed by
//! the type (extensions, contained resources), and omitting a 0..1 element is always valid.

use serde_json::Value;

use super::super::access::{Subject, patient_union};
use super::super::compartment::params;
use super::answer_grants;

/// Whether a searchset answering a search on `resource_type` by `subject` must go without
/// `total`: the type is outside the Patient compartment (not narrowed) and every grant the
/// caller has on it is restricted to some patients (so the post-filter drops what the
/// total counted).
pub(super) fn withheld(subject: &Subject, resource_type: &str) -> bool {
    params(resource_type).is_none()
        && patient_union(&answer_grants(subject, resource_type)).is_some()
}

/// For a searchset Bundle nested in an answer (a batch-response entry), where the request
/// that produced it is not at hand: whether its `total` must go. The searched type is read
/// from its `self` link (`[base]/[type]?…` or `[base]/[type]/_search`); without one that
/// names a type, the total goes.
pub(super) fn nested_withheld(subject: &Subject, bundle: &Value) -> bool {
    if bundle.get("type").and_then(Value::as_str) != Some("searchset")
        || bundle.get("total").is_none()
    {
        return false;
    }
    match self_link_type(bundle) {
        Some(rt) => withheld(subject, rt),
        None => true,
    }
}

/// The resource type a searchset's `self` link searched.
fn self_link_type(bundle: &Value) -> Option<&str> {
    let url = bundle
        .get("link")?
        .as_array()?
        .iter()
        .find(|l| l.get("relation").and_then(Value::as_str) == Some("self"))?
        .get("url")?
        .as_str()?;
    let path = url.split(['?', '#']).next()?.trim_end_matches('/');
    let mut segments = path.rsplit('/');
    let last = segments.next()?;
    let rt = if last == "_search" {
        segments.next()?
    } else {
        last
    };
    fhirgate_adapters::interaction::is_resource_type(rt).then_some(rt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_self_link_names_the_searched_type() {
        let with = |url: &str| json!({"link": [{"relation": "self", "url": url}]});
        assert_eq!(
            self_link_type(&with("http://g/fhir/Device?_count=1")),
            Some("Device")
        );
        assert_eq!(
            self_link_type(&with("http://g/fhir/Task/_search")),
            Some("Task")
        );
        assert_eq!(
            self_link_type(&with("Observation?code=x")),
            Some("Observation")
        );
        assert_eq!(self_link_type(&with("http://g/fhir?_type=Device")), None);
        assert_eq!(self_link_type(&json!({})), None);
    }
}
