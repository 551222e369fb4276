//! The R4 Patient compartment (CompartmentDefinition `patient`, FHIR R4 4.0.1) as data:
//! resource type → the search parameters that put a resource in a patient's compartment,
//! and the reference scan that finds the patients a resource names.

use serde_json::Value;

use super::identity::relative_reference;

/// CompartmentDefinition `patient` (R4 4.0.1): every resource type with at least one
/// parameter, with its parameters in definition order. `Patient` itself is in its own
/// compartment by id (and `link`).
pub const PATIENT_COMPARTMENT: &[(&str, &[&str])] = &[
    ("Account", &["subject"]),
    ("AdverseEvent", &["subject"]),
    ("AllergyIntolerance", &["patient", "recorder", "asserter"]),
    ("Appointment", &["actor"]),
    ("AppointmentResponse", &["actor"]),
    ("AuditEvent", &["patient"]),
    ("Basic", &["patient", "author"]),
    ("BodyStructure", &["patient"]),
    ("CarePlan", &["patient", "performer"]),
    ("CareTeam", &["patient", "participant"]),
    ("ChargeItem", &["subject"]),
    ("Claim", &["patient", "payee"]),
    ("ClaimResponse", &["patient"]),
    ("ClinicalImpression", &["subject"]),
    ("Communication", &["subject", "sender", "recipient"]),
    (
        "CommunicationRequest",
        &["subject", "sender", "recipient", "requester"],
    ),
    ("Composition", &["subject", "author", "attester"]),
    ("Condition", &["patient", "asserter"]),
    ("Consent", &["patient"]),
    (
        "Coverage",
        &["policy-holder", "subscriber", "beneficiary", "payor"],
    ),
    ("CoverageEligibilityRequest", &["patient"]),
    ("CoverageEligibilityResponse", &["patient"]),
    ("DetectedIssue", &["patient"]),
    ("DeviceRequest", &["subject", "performer"]),
    ("DeviceUseStatement", &["subject"]),
    ("DiagnosticReport", &["subject"]),
    ("DocumentManifest", &["subject", "author", "recipient"]),
    ("DocumentReference", &["subject", "author"]),
    ("Encounter", &["patient"]),
    ("EnrollmentRequest", &["subject"]),
    ("EpisodeOfCare", &["patient"]),
    ("ExplanationOfBenefit", &["patient", "payee"]),
    ("FamilyMemberHistory", &["patient"]),
    ("Flag", &["patient"]),
    ("Goal", &["patient"]),
    ("Group", &["member"]),
    ("ImagingStudy", &["patient"]),
    ("Immunization", &["patient"]),
    ("ImmunizationEvaluation", &["patient"]),
    ("ImmunizationRecommendation", &["patient"]),
    ("Invoice", &["subject", "patient", "recipient"]),
    ("List", &["subject", "source"]),
    ("MeasureReport", &["patient"]),
    ("Media", &["subject"]),
    (
        "MedicationAdministration",
        &["patient", "performer", "subject"],
    ),
    ("MedicationDispense", &["subject", "patient", "receiver"]),
    ("MedicationRequest", &["subject"]),
    ("MedicationStatement", &["subject"]),
    ("MolecularSequence", &["patient"]),
    ("NutritionOrder", &["patient"]),
    ("Observation", &["subject", "performer"]),
    ("Patient", &["link"]),
    ("Person", &["patient"]),
    ("Procedure", &["patient", "performer"]),
    ("Provenance", &["patient"]),
    ("QuestionnaireResponse", &["subject", "author"]),
    ("RelatedPerson", &["patient"]),
    ("RequestGroup", &["subject", "participant"]),
    ("ResearchSubject", &["individual"]),
    ("RiskAssessment", &["subject"]),
    ("Schedule", &["actor"]),
    ("ServiceRequest", &["subject", "performer"]),
    ("Specimen", &["subject"]),
    ("SupplyDelivery", &["patient"]),
    ("SupplyRequest", &["requester"]),
    ("VisionPrescription", &["patient"]),
];

/// The compartment parameters of `resource_type`, `None` when it is outside the compartment.
pub fn params(resource_type: &str) -> Option<&'static [&'static str]> {
    PATIENT_COMPARTMENT
        .binary_search_by(|(t, _)| t.cmp(&resource_type))
        .ok()
        .map(|i| PATIENT_COMPARTMENT[i].1)
}

/// The parameter a patient-restricted search on `resource_type` is narrowed by (the one
/// injected as `param=Patient/{id}` when the search names no patient): the compartment's
/// first parameter, except where that one does not name the patient the resource is about.
/// Coverage's first is `policy-holder`, usually absent or an Organization or RelatedPerson,
/// so narrowing by it found no Coverage of the patient; it is narrowed by `beneficiary`
/// (R4 `Coverage.beneficiary`, 1..1 Reference(Patient)). That loses nothing the post-filter
/// would keep: a Coverage is shown only when every patient it names is reached
/// ([`super::access`]), so its beneficiary always is. `None` outside the compartment.
pub fn narrowing_param(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "Coverage" => Some("beneficiary"),
        _ => params(resource_type).and_then(|ps| ps.first().copied()),
    }
}

/// The patient id a reference or search value names: `Patient/1`, an absolute
/// `…/Patient/1`, `Patient/1/_history/2`; `None` for anything else.
pub fn patient_id(reference: &str) -> Option<String> {
    relative_reference(reference)?
        .strip_prefix("Patient/")
        .map(str::to_owned)
}

/// Every patient the resource references, in one pass over the JSON (including contained
/// resources and extensions): values of `reference` members that name `Patient/{id}`.
/// A `reference` that names a Patient by another shape (`urn:uuid:`, `#contained`) is not a
/// patient id and is reported through `unresolved`.
pub fn patient_references(resource: &Value, unresolved: &mut bool) -> Vec<String> {
    let mut out = Vec::new();
    walk(resource, &mut out, unresolved);
    out
}

fn walk(value: &Value, out: &mut Vec<String>, unresolved: &mut bool) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "reference"
                    && let Value::String(r) = v
                {
                    match patient_id(r) {
                        Some(id) => out.push(id),
                        None if r.contains("Patient") => *unresolved = true,
                        None => {}
                    }
                } else {
                    walk(v, out, unresolved);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out, unresolved)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(PATIENT_COMPARTMENT.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(params("Observation"), Some(&["subject", "performer"][..]));
        assert_eq!(params("Practitioner"), None);
        assert_eq!(narrowing_param("Coverage"), Some("beneficiary"));
        assert_eq!(narrowing_param("Observation"), Some("subject"));
        assert_eq!(narrowing_param("Practitioner"), None);
    }

    #[test]
    fn references_are_found_everywhere() {
        let obs = serde_json::json!({"resourceType": "Observation", "subject": {"reference": "http://x/fhir/Patient/a"},
            "contained": [{"resourceType": "Provenance", "target": [{"reference": "Patient/b/_history/1"}]}],
            "performer": [{"reference": "Practitioner/p"}]});
        let mut unresolved = false;
        assert_eq!(
            patient_references(&obs, &mut unresolved),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert!(!unresolved);
    }
}
