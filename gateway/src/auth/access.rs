//! What a verified identity may reach: its scopes resolved against its launch context and
//! the user policy into [`Grant`]s, and whether a resource (JSON) is inside one.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::compartment::{NamedPatient, anchor_paths, patient_references};
use super::identity::Identity;
use super::local_base::LocalBases;
use super::scope::{Context, Permission};

/// The patients a grant reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every patient (`system/`, or `user/` under the `all` policy).
    All,
    /// Only these patients' compartments (`patient/` context, or `user/` under `care_team`).
    Patients(Arc<BTreeSet<String>>),
}

/// One scope's grant for a resource type and permission.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The patients it reaches.
    pub reach: Reach,
    /// Granular restriction (token search parameters); empty = none.
    pub constraint: Vec<(String, String)>,
    /// From a `patient/` scope: it covers data about the patient in context only (SMART
    /// App Launch 2.x "Scopes and launch context" §3.1), so it writes no shared record
    /// that names no patient ([`admits_write`]); reading one stays allowed.
    pub patient_context: bool,
}

impl Grant {
    /// Unrestricted: every patient, no granular restriction.
    pub fn is_unrestricted(&self) -> bool {
        self.reach == Reach::All && self.constraint.is_empty()
    }
}

/// A request's caller: its identity and the patients its `user/` scopes reach.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The verified token.
    pub identity: Arc<Identity>,
    /// Reach of `user/` scopes (from `auth.user_patients`).
    pub user_reach: Reach,
    /// The bases under which an absolute reference names a local resource (the request's
    /// public base, upstream FHIR adapters' bases): another server's `…/Patient/1` names no
    /// patient of ours.
    pub local_bases: LocalBases,
}

impl Subject {
    /// The grants for `permission` on `resource_type` (empty = denied). A `patient/` scope
    /// grants nothing without a `patient` launch context (SMART App Launch 2.x §3.1).
    pub fn grants(&self, resource_type: &str, permission: Permission) -> Vec<Grant> {
        let patient = self.identity.principal.patient.clone();
        self.identity
            .scopes
            .resources
            .iter()
            .filter(|s| s.grants(resource_type, permission))
            .filter_map(|s| {
                let reach = match s.context {
                    Context::System => Reach::All,
                    Context::User => self.user_reach.clone(),
                    Context::Patient => {
                        Reach::Patients(Arc::new(BTreeSet::from([patient.clone()?])))
                    }
                };
                Some(Grant {
                    reach,
                    constraint: s.constraint.clone(),
                    patient_context: s.context == Context::Patient,
                })
            })
            .collect()
    }

    /// Grants on `resource_type` for any permission (what may be shown in an answer).
    pub fn any_grants(&self, resource_type: &str) -> Vec<Grant> {
        [
            Permission::Read,
            Permission::Search,
            Permission::Create,
            Permission::Update,
            Permission::Delete,
        ]
        .iter()
        .flat_map(|p| self.grants(resource_type, *p))
        .collect()
    }

    /// Whether answers need no filtering: some scope grants `r` and `s` on `*` to every
    /// patient without restriction.
    pub fn sees_everything(&self) -> bool {
        let all = |p| self.grants("*", p).iter().any(Grant::is_unrestricted);
        self.identity
            .scopes
            .resources
            .iter()
            .any(|s| s.resource_type.is_none())
            && all(Permission::Read)
            && all(Permission::Search)
    }
}

/// The union of the patient sets of `grants`; `None` when one of them reaches all patients.
pub fn patient_union(grants: &[Grant]) -> Option<BTreeSet<String>> {
    let mut union = BTreeSet::new();
    for g in grants {
        match &g.reach {
            Reach::All => return None,
            Reach::Patients(set) => union.extend(set.iter().cloned()),
        }
    }
    Some(union)
}

/// Whether some grant admits `resource` (JSON of type `resource_type`); absolute references
/// name a patient only under one of `bases`.
pub fn admits(grants: &[Grant], bases: &LocalBases, resource_type: &str, resource: &Value) -> bool {
    grants.iter().any(|g| {
        reach_admits(&g.reach, bases, resource_type, resource)
            && constraint_admits(&g.constraint, resource)
    })
}

/// Whether `grants` admit `resource` as something the caller may *write*: [`admits`], and
/// for a patient-restricted grant also every patient it names reached (no reference to
/// another patient in any element, and none in an unresolvable shape). Stricter than
/// reading: a patient app may not write another patient's id anywhere.
///
/// A `patient/` grant ([`Grant::patient_context`]) writes only data about the patient in
/// context (SMART App Launch 2.x §3.1): a resource naming no patient (a `Practitioner`,
/// the pharmacy's `Organization`, a `Medication`) is a shared record, which only `user/`
/// or `system/` scopes change. A `Patient` names its patient by its id ([`admits`]).
pub fn admits_write(
    grants: &[Grant],
    bases: &LocalBases,
    resource_type: &str,
    resource: &Value,
) -> bool {
    let mut unresolved = false;
    let named = patient_references(resource, bases, &mut unresolved);
    let names_one = resource_type == "Patient" || !named.is_empty();
    let usable: Vec<Grant> = grants
        .iter()
        .filter(|g| names_one || !g.patient_context)
        .cloned()
        .collect();
    if !admits(&usable, bases, resource_type, resource) {
        return false;
    }
    let Some(set) = patient_union(&usable) else {
        return true;
    };
    !unresolved && named.iter().all(|n| set.contains(&n.id))
}

/// Patient: its id is reached. Compartment types: one of its anchor elements
/// ([`super::compartment::ANCHORS`], e.g. `Observation.subject`) names a reached patient —
/// the resource is that patient's, whatever other patients it names elsewhere (FHIR R4
/// CompartmentDefinition `patient`, restricted to the parameter the search is narrowed by,
/// so what a narrowed search counts is what the filter lets through). Other types: every
/// patient it names (possibly none) is reached.
fn reach_admits(reach: &Reach, bases: &LocalBases, resource_type: &str, resource: &Value) -> bool {
    if !matches!(reach, Reach::Patients(_)) {
        return true;
    }
    if resource_type == "Patient" {
        let id = resource.get("id").and_then(Value::as_str);
        return reach_admits_named(reach, resource_type, id, &[], false);
    }
    let mut unresolved = false;
    let refs = patient_references(resource, bases, &mut unresolved);
    reach_admits_named(reach, resource_type, None, &refs, unresolved)
}

/// [`reach_admits`] on what a resource names: its `id` (read for `Patient`), the patients
/// its references name with where, and whether some reference names a Patient in another
/// shape.
pub fn reach_admits_named(
    reach: &Reach,
    resource_type: &str,
    id: Option<&str>,
    named: &[NamedPatient],
    unresolved: bool,
) -> bool {
    let Reach::Patients(set) = reach else {
        return true;
    };
    if resource_type == "Patient" {
        return id.is_some_and(|id| set.contains(id));
    }
    match anchor_paths(resource_type) {
        Some(paths) => named.iter().any(|n| n.anchors(paths, set)),
        None => !unresolved && named.iter().all(|n| set.contains(&n.id)),
    }
}

/// Every `(param, value)` must match the element of the same name (a token: `code`,
/// `system|code` or `|code`, against a code, Coding or CodeableConcept, or arrays of them;
/// comma-separated values are alternatives). SMART App Launch 2.x §3.1.3 granular scopes.
pub fn constraint_admits(constraint: &[(String, String)], resource: &Value) -> bool {
    constraint.iter().all(|(param, value)| {
        let element = resource.get(param.split(':').next().unwrap_or(param));
        let codings = element.map(codings).unwrap_or_default();
        value.split(',').any(|alt| {
            let (system, code) = match alt.split_once('|') {
                Some((s, c)) => (Some(s), c),
                None => (None, alt),
            };
            codings.iter().any(|(s, c)| {
                c.as_deref() == Some(code)
                    && system.is_none_or(|want| {
                        want.is_empty() && s.is_none() || s.as_deref() == Some(want)
                    })
            })
        })
    })
}

fn codings(element: &Value) -> Vec<(Option<String>, Option<String>)> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match element {
        Value::Array(items) => items.iter().flat_map(codings).collect(),
        Value::String(code) => vec![(None, Some(code.clone()))],
        Value::Object(o) if o.contains_key("coding") => element["coding"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| (text(c, "system"), text(c, "code")))
                    .collect()
            })
            .unwrap_or_default(),
        Value::Object(_) => vec![(text(element, "system"), text(element, "code"))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn category_constraint_matches_codeable_concepts() {
        let vital = json!({"category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}]});
        let lab = json!({"category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]});
        let c = vec![("category".to_owned(), "vital-signs".to_owned())];
        assert!(constraint_admits(&c, &vital));
        assert!(!constraint_admits(&c, &lab));
        let c = vec![(
            "category".to_owned(),
            "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs".to_owned(),
        )];
        assert!(constraint_admits(&c, &vital));
        assert!(!constraint_admits(&c, &json!({})));
    }

    #[test]
    fn patient_reach_follows_the_anchor_element() {
        let set = Reach::Patients(Arc::new(BTreeSet::from(["a".to_owned()])));
        let local = LocalBases::default();
        let own = json!({"subject": {"reference": "Patient/a"}});
        let other = json!({"subject": {"reference": "Patient/b"}});
        // b's Observation that names a as performer is b's, not a's.
        let performed = json!({"subject": {"reference": "Patient/b"}, "performer": [{"reference": "Patient/a"}]});
        // a's Observation that names b elsewhere is a's.
        let naming_b = json!({"subject": {"reference": "Patient/a"}, "performer": [{"reference": "Patient/b"}]});
        let contained = json!({"contained": [{"resourceType": "Observation", "subject": {"reference": "Patient/a"}}]});
        assert!(reach_admits(&set, &local, "Observation", &own));
        assert!(!reach_admits(&set, &local, "Observation", &other));
        assert!(!reach_admits(&set, &local, "Observation", &performed));
        assert!(reach_admits(&set, &local, "Observation", &naming_b));
        assert!(!reach_admits(&set, &local, "Observation", &contained));
        assert!(!reach_admits(&set, &local, "Observation", &json!({})));
        let appointment = json!({"participant": [{"actor": {"reference": "Practitioner/p"}}, {"actor": {"reference": "Patient/a"}}]});
        assert!(reach_admits(&set, &local, "Appointment", &appointment));
        assert!(reach_admits(&set, &local, "Practitioner", &json!({})));
        let device_of_b = json!({"patient": {"reference": "Patient/b"}});
        assert!(!reach_admits(&set, &local, "Device", &device_of_b));
        assert!(reach_admits(&set, &local, "Patient", &json!({"id": "a"})));
        assert!(!reach_admits(&set, &local, "Patient", &json!({"id": "b"})));
    }

    #[test]
    fn writing_needs_every_named_patient_reached() {
        let local = LocalBases::default();
        let grants = vec![Grant {
            reach: Reach::Patients(Arc::new(BTreeSet::from(["a".to_owned()]))),
            constraint: Vec::new(),
            patient_context: true,
        }];
        let own = json!({"subject": {"reference": "Patient/a"}});
        let naming_b = json!({"subject": {"reference": "Patient/a"}, "performer": [{"reference": "Patient/b"}]});
        assert!(admits_write(&grants, &local, "Observation", &own));
        assert!(admits(&grants, &local, "Observation", &naming_b));
        assert!(!admits_write(&grants, &local, "Observation", &naming_b));
        // Another server's patient a is not ours: neither admitted nor writable.
        let foreign = json!({"subject": {"reference": "https://other.example/fhir/Patient/a"}});
        assert!(!admits(&grants, &local, "Observation", &foreign));
        let naming_foreign = json!({"subject": {"reference": "Patient/a"},
            "performer": [{"reference": "https://other.example/fhir/Patient/a"}]});
        assert!(admits(&grants, &local, "Observation", &naming_foreign));
        assert!(!admits_write(
            &grants,
            &local,
            "Observation",
            &naming_foreign
        ));
        let ours = LocalBases::new(["http://gw.test/fhir"]);
        let absolute = json!({"subject": {"reference": "http://gw.test/fhir/Patient/a"}});
        assert!(admits_write(&grants, &ours, "Observation", &absolute));
        assert!(!admits_write(&grants, &local, "Observation", &absolute));
    }

    #[test]
    fn a_patient_scope_writes_no_shared_record() {
        let local = LocalBases::default();
        let reach = Reach::Patients(Arc::new(BTreeSet::from(["a".to_owned()])));
        let patient = Grant {
            reach: reach.clone(),
            constraint: Vec::new(),
            patient_context: true,
        };
        let shared = json!({"resourceType": "Practitioner", "name": [{"family": "P"}]});
        let device_of_a = json!({"patient": {"reference": "Patient/a"}});
        let grants = vec![patient.clone()];
        assert!(admits(&grants, &local, "Practitioner", &shared));
        assert!(!admits_write(&grants, &local, "Practitioner", &shared));
        assert!(admits_write(&grants, &local, "Device", &device_of_a));
        assert!(admits_write(
            &grants,
            &local,
            "Patient",
            &json!({"id": "a"})
        ));
        // A user/ scope under care_team reaches the same patients but may write shared records.
        let user = Grant {
            patient_context: false,
            ..patient.clone()
        };
        assert!(admits_write(
            std::slice::from_ref(&user),
            &local,
            "Practitioner",
            &shared
        ));
        assert!(admits_write(
            &[patient, user],
            &local,
            "Practitioner",
            &shared
        ));
    }
}
