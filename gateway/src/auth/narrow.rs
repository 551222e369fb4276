//! Search narrowing (SMART App Launch 2.x §3.1, FHIR R4 §3.1.0.9 compartments): a search by
//! a caller restricted to some patients is verified (every patient it names must be theirs)
//! and narrowed (the anchor parameter of [`super::compartment::ANCHORS`] is injected unless
//! the search already has it), so the store counts, pages and includes exactly what the
//! post-filter lets through; a granular scope's parameters are injected or verified the same
//! way. The response post-filter remains the last word.

use super::access::{Grant, patient_union};
use super::compartment::{narrowing_param, params};
use super::error::AuthError;
use super::local_base::LocalBases;
use fhirgate_adapters::interaction::is_valid_id;

/// Verifies or narrows `query` (a search, conditional write or history on `resource_type`)
/// for `grants`. Returns whether `query` changed (then `raw_query` must be dropped).
/// A reference value names a patient only when relative or under one of `bases`.
///
/// Errors (403): a patient named that the grants do not reach; a compartment parameter
/// chained (`subject.name`, `subject:Patient.name`) or with a modifier other than `:Patient`
/// (`:missing`, `:not`, `:identifier`), whose result the gateway cannot bound.
pub fn narrow(
    resource_type: &str,
    query: &mut Vec<(String, String)>,
    grants: &[Grant],
    bases: &LocalBases,
) -> Result<bool, AuthError> {
    if grants.iter().any(Grant::is_unrestricted) {
        return Ok(false);
    }
    let mut changed = false;
    if let Some(set) = patient_union(grants) {
        if set.is_empty() {
            return Err(AuthError::forbidden(
                "no patient is within reach of the granted scopes",
            ));
        }
        let (mut names, inject): (Vec<&str>, (String, String)) = if resource_type == "Patient" {
            (
                vec!["_id", "link"],
                (
                    "_id".into(),
                    set.iter().cloned().collect::<Vec<_>>().join(","),
                ),
            )
        } else if let (Some(ps), Some(by)) = (params(resource_type), narrowing_param(resource_type))
        {
            let refs = set
                .iter()
                .map(|p| format!("Patient/{p}"))
                .collect::<Vec<_>>()
                .join(",");
            (ps.to_vec(), (by.to_owned(), refs))
        } else {
            (Vec::new(), (String::new(), String::new()))
        };
        // `patient` and `subject` name patients on most types even where they are not
        // compartment parameters (Observation `patient`, Task `subject`): verified too.
        names.extend(["patient", "subject"]);
        let mut anchored = false;
        for (key, value) in query.iter() {
            let base = key.split([':', '.']).next().unwrap_or(key);
            if !names.contains(&base) {
                continue;
            }
            if key.contains('.') {
                return Err(AuthError::forbidden(format!(
                    "chained compartment parameter {base} is not allowed in a patient-restricted search"
                )));
            }
            let modifier = key.split_once(':').map(|(_, m)| m);
            if modifier.is_some_and(|m| m != "Patient") {
                return Err(AuthError::forbidden(format!(
                    "modifier on compartment parameter {base} is not allowed in a patient-restricted search"
                )));
            }
            for v in value.split(',') {
                let id = bases.patient_id(v).or_else(|| {
                    (matches!(base, "_id" | "patient") || modifier.is_some())
                        .then(|| v.to_owned())
                        .filter(|i| is_valid_id(i))
                });
                if !id.is_some_and(|i| set.contains(&i)) {
                    return Err(AuthError::forbidden(format!(
                        "{base} names a patient outside the granted context"
                    )));
                }
            }
            anchored |= base == inject.0;
        }
        // Another compartment parameter (`performer=Patient/a`) names the patient too, but
        // finds resources that are other patients' (b's Observation performed by a): the
        // anchor is added so the search finds only what the post-filter shows.
        if !anchored && !inject.0.is_empty() {
            query.push(inject);
            changed = true;
        }
    }
    if grants.iter().all(|g| !g.constraint.is_empty()) {
        let first = &grants[0].constraint;
        if grants.iter().all(|g| &g.constraint == first) {
            for (param, allowed) in first {
                let mut present = false;
                for (key, value) in query.iter().filter(|(k, _)| k == param) {
                    present = true;
                    if !value.split(',').all(|v| {
                        allowed
                            .split(',')
                            .any(|a| a == v || v.ends_with(&format!("|{a}")))
                    }) {
                        return Err(AuthError::forbidden(format!(
                            "{key} goes beyond the granted scope's restriction"
                        )));
                    }
                }
                if !present {
                    query.push((param.clone(), allowed.clone()));
                    changed = true;
                }
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::access::Reach;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn patient_a() -> Vec<Grant> {
        vec![Grant {
            reach: Reach::Patients(Arc::new(BTreeSet::from(["a".to_owned()]))),
            constraint: Vec::new(),
            patient_context: true,
        }]
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// [`narrow`] for patient A's grants, with no absolute base counted as local.
    fn narrow_a(resource_type: &str, query: &mut Vec<(String, String)>) -> Result<bool, AuthError> {
        narrow(resource_type, query, &patient_a(), &LocalBases::default())
    }

    #[test]
    fn search_without_patient_is_narrowed() {
        let mut query = q(&[("code", "x")]);
        assert!(narrow_a("Observation", &mut query).expect("ok"));
        assert_eq!(
            query.last(),
            Some(&("subject".to_owned(), "Patient/a".to_owned()))
        );
    }

    #[test]
    fn other_patient_chain_and_modifier_are_refused() {
        for bad in [
            ("subject", "Patient/b"),
            ("subject", "Patient/a,Patient/b"),
            ("subject:Patient.name", "x"),
            ("subject:missing", "true"),
            ("performer", "http://x/fhir/Patient/b"),
        ] {
            let mut query = q(&[bad]);
            assert!(narrow_a("Observation", &mut query).is_err(), "{bad:?}");
        }
        // Another server's patient a is not ours; under our base it is.
        let mut query = q(&[("subject", "https://other.example/fhir/Patient/a")]);
        assert!(narrow_a("Observation", &mut query).is_err());
        let ours = LocalBases::new(["http://gw.test/fhir"]);
        let mut query = q(&[("subject", "http://gw.test/fhir/Patient/a")]);
        assert!(!narrow("Observation", &mut query, &patient_a(), &ours).expect("own patient"));
        let mut query = q(&[("_id", "b")]);
        assert!(narrow_a("Patient", &mut query).is_err());
        let mut query = q(&[("subject", "Patient/a")]);
        assert!(!narrow_a("Observation", &mut query).expect("own patient"));
    }

    #[test]
    fn another_compartment_parameter_still_gets_the_anchor() {
        let mut query = q(&[("performer", "Patient/a")]);
        assert!(narrow_a("Observation", &mut query).expect("own patient"));
        assert_eq!(
            query,
            q(&[("performer", "Patient/a"), ("subject", "Patient/a")])
        );
        let mut query = q(&[("link", "Patient/a")]);
        assert!(narrow_a("Patient", &mut query).expect("own patient"));
        assert_eq!(query, q(&[("link", "Patient/a"), ("_id", "a")]));
        let mut query = q(&[("subject:Patient", "a")]);
        assert!(!narrow_a("Observation", &mut query).expect("own patient"));
    }
}
