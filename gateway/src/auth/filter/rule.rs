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
use super::{GrantCache, scan, total, visible};

/// The rule for `subject`'s search on `resource_type`, when the post-filter may drop some
/// of its matches (the type is outside the Patient compartment and every grant on it is
/// restricted to some patients, as for [`total::withheld`]); `None` otherwise, so a caller
/// who sees everything, or a narrowed compartment search, pays nothing.
pub(in crate::auth) fn rule(subject: &Subject, resource_type: &str) -> Option<Visibility> {
    if !total::withheld(subject, resource_type) {
        return None;
    }
    let subject = subject.clone();
    Some(Visibility::new(move |rt, json| admits(&subject, rt, json)))
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
