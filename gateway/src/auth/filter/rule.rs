//! The post-filter's decision handed to the adapter as a [`Visibility`] rule (FHIR R4
//! search.html §3.1.1.6 paging; SMART App Launch 2.x §3 patient scopes).
//!
//! A restricted caller's search on a type outside the Patient compartment cannot be
//! narrowed by a search parameter ([`super::total`]): the adapter finds every patient's
//! matches and the post-filter drops those the caller may not see, page by page. Paged over
//! every match, the answer would show short or empty pages with `next` links, and so how
//! many of the others exist. The rule lets an adapter that can test each match (the
//! embedded store) page over the visible ones only; it is the post-filter's own test, so
//! the store keeps exactly what the filter would (which still runs afterwards).

use fhirgate_adapters::interaction::Visibility;
use serde_json::Value;

use super::super::access::Subject;
use super::super::scope::Permission;
use super::{GrantCache, scan, total, visible};

/// The rule for `subject`'s search on `resource_type`, when the post-filter may drop some
/// of its matches: the type is outside the Patient compartment and every grant on it is
/// restricted to some patients (as for [`total::withheld`]), or every grant carries a
/// granular restriction and they differ (SMART App Launch 2.x §3.1.1.1 granular scopes:
/// `narrow` can inject one restriction, not a choice of several, so the store finds the
/// patient's resources of every category). `None` otherwise, so a caller who sees
/// everything, or a fully narrowed search, pays nothing.
pub(in crate::auth) fn rule(subject: &Subject, resource_type: &str) -> Option<Visibility> {
    if !total::withheld(subject, resource_type) && !choice_of_restrictions(subject, resource_type) {
        return None;
    }
    let subject = subject.clone();
    Some(Visibility::new(move |rt, json| admits(&subject, rt, json)))
}

/// Whether every search grant on `resource_type` is granularly restricted and they are
/// not all the same restriction (the case `narrow` leaves to the post-filter).
fn choice_of_restrictions(subject: &Subject, resource_type: &str) -> bool {
    let grants = subject.grants(resource_type, Permission::Search);
    grants.iter().all(|g| !g.constraint.is_empty())
        && grants
            .first()
            .is_some_and(|first| grants.iter().any(|g| g.constraint != first.constraint))
}

/// Whether the searchset entry holding `json` (a resource of type `rt`) survives the
/// post-filter: the borrowing [`scan`] decides where it can, the `Value` pass otherwise. A
/// Bundle resource is kept, as the filter keeps it (filtering its own entries instead).
fn admits(subject: &Subject, rt: &str, json: &str) -> bool {
    if rt == "Bundle" {
        return true;
    }
    if rt != "Parameters"
        && let Some(answer) = scan::scan(json.as_bytes(), &subject.local_bases)
        && answer.top.resource_type.as_deref() == Some(rt)
        && let Some(decided) = GrantCache::new(subject).visible(rt, &answer.top)
    {
        return decided;
    }
    serde_json::from_str::<Value>(json).is_ok_and(|resource| visible(subject, rt, &resource))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Map, json};

    use super::*;
    use crate::auth::access::Reach;
    use crate::auth::identity::Identity;
    use crate::auth::local_base::LocalBases;

    fn subject(scope: &str) -> Subject {
        let mut claims = Map::new();
        claims.insert("scope".into(), json!(scope));
        claims.insert("patient".into(), json!("a"));
        claims.insert("client_id".into(), json!("app"));
        let identity = Identity::from_claims(&claims, "iss", u64::MAX).expect("identity");
        Subject {
            identity: Arc::new(identity),
            user_reach: Reach::All,
            local_bases: LocalBases::new(["http://h/fhir"]),
        }
    }

    #[test]
    fn the_rule_keeps_what_the_post_filter_keeps() {
        let patient = subject("launch/patient patient/*.rs");
        let rule = rule(&patient, "Device").expect("Device is outside the compartment");
        let device = |reference: Option<&str>| {
            let mut d = json!({"resourceType": "Device", "id": "d"});
            if let Some(r) = reference {
                d["patient"] = json!({"reference": r});
            }
            d
        };
        for (resource, shown) in [
            (device(Some("Patient/a")), true),
            (device(Some("Patient/b")), false),
            (device(Some("http://h/fhir/Patient/b")), false),
            (device(None), true),
        ] {
            assert_eq!(
                rule.admits("Device", &resource.to_string()),
                visible(&patient, "Device", &resource),
                "{resource}"
            );
            assert_eq!(
                rule.admits("Device", &resource.to_string()),
                shown,
                "{resource}"
            );
        }
        assert!(!rule.admits("Device", "not json"));
        // Narrowed compartment searches and callers who see everything carry no rule.
        assert!(super::rule(&patient, "Observation").is_none());
        assert!(super::rule(&subject("system/*.rs"), "Device").is_none());
        // One granular restriction is narrowed into the search; a choice of two is not.
        let one = "launch/patient patient/Observation.rs?category=vital-signs";
        assert!(super::rule(&subject(one), "Observation").is_none());
        let two = format!("{one} patient/Observation.rs?category=laboratory");
        assert!(super::rule(&subject(&two), "Observation").is_some());
    }
}
