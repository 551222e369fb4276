//! The R4 Patient compartment (CompartmentDefinition `patient`, FHIR R4 4.0.1) as data:
//! resource type → the search parameters that put a resource in a patient's compartment,
//! and the reference scan that finds the patients a resource names.

mod references;

pub use references::{Member, ReferenceShape, patient_references};

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

/// What puts a resource *of* a patient (not merely naming one) in that patient's
/// compartment: per compartment type, the parameter a patient-restricted search is narrowed
/// by and the element paths it searches (FHIR R4 4.0.1 SearchParameter expressions, member
/// names only, `.where(resolve() is Patient)` left to the reference's own shape).
///
/// It is the first parameter of [`PATIENT_COMPARTMENT`], except for Coverage, whose first,
/// `policy-holder`, is usually absent or an Organization or RelatedPerson: it is narrowed by
/// `beneficiary` (R4 `Coverage.beneficiary`, 1..1 Reference(Patient)).
///
/// A patient-restricted caller sees a compartment resource when one of these elements names
/// a patient it reaches ([`super::access`]) — the same rule the narrowed search applies,
/// so counts, pages and includes agree with what the post-filter lets through.
pub const ANCHORS: &[(&str, &str, &[&str])] = &[
    ("Account", "subject", &["subject"]),
    ("AdverseEvent", "subject", &["subject"]),
    ("AllergyIntolerance", "patient", &["patient"]),
    ("Appointment", "actor", &["participant.actor"]),
    ("AppointmentResponse", "actor", &["actor"]),
    ("AuditEvent", "patient", &["agent.who", "entity.what"]),
    ("Basic", "patient", &["subject"]),
    ("BodyStructure", "patient", &["patient"]),
    ("CarePlan", "patient", &["subject"]),
    ("CareTeam", "patient", &["subject"]),
    ("ChargeItem", "subject", &["subject"]),
    ("Claim", "patient", &["patient"]),
    ("ClaimResponse", "patient", &["patient"]),
    ("ClinicalImpression", "subject", &["subject"]),
    ("Communication", "subject", &["subject"]),
    ("CommunicationRequest", "subject", &["subject"]),
    ("Composition", "subject", &["subject"]),
    ("Condition", "patient", &["subject"]),
    ("Consent", "patient", &["patient"]),
    ("Coverage", "beneficiary", &["beneficiary"]),
    ("CoverageEligibilityRequest", "patient", &["patient"]),
    ("CoverageEligibilityResponse", "patient", &["patient"]),
    ("DetectedIssue", "patient", &["patient"]),
    ("DeviceRequest", "subject", &["subject"]),
    ("DeviceUseStatement", "subject", &["subject"]),
    ("DiagnosticReport", "subject", &["subject"]),
    ("DocumentManifest", "subject", &["subject"]),
    ("DocumentReference", "subject", &["subject"]),
    ("Encounter", "patient", &["subject"]),
    ("EnrollmentRequest", "subject", &["candidate"]),
    ("EpisodeOfCare", "patient", &["patient"]),
    ("ExplanationOfBenefit", "patient", &["patient"]),
    ("FamilyMemberHistory", "patient", &["patient"]),
    ("Flag", "patient", &["subject"]),
    ("Goal", "patient", &["subject"]),
    ("Group", "member", &["member.entity"]),
    ("ImagingStudy", "patient", &["subject"]),
    ("Immunization", "patient", &["patient"]),
    ("ImmunizationEvaluation", "patient", &["patient"]),
    ("ImmunizationRecommendation", "patient", &["patient"]),
    ("Invoice", "subject", &["subject"]),
    ("List", "subject", &["subject"]),
    ("MeasureReport", "patient", &["subject"]),
    ("Media", "subject", &["subject"]),
    ("MedicationAdministration", "patient", &["subject"]),
    ("MedicationDispense", "subject", &["subject"]),
    ("MedicationRequest", "subject", &["subject"]),
    ("MedicationStatement", "subject", &["subject"]),
    ("MolecularSequence", "patient", &["patient"]),
    ("NutritionOrder", "patient", &["patient"]),
    ("Observation", "subject", &["subject"]),
    ("Person", "patient", &["link.target"]),
    ("Procedure", "patient", &["subject"]),
    ("Provenance", "patient", &["target"]),
    ("QuestionnaireResponse", "subject", &["subject"]),
    ("RelatedPerson", "patient", &["patient"]),
    ("RequestGroup", "subject", &["subject"]),
    ("ResearchSubject", "individual", &["individual"]),
    ("RiskAssessment", "subject", &["subject"]),
    ("Schedule", "actor", &["actor"]),
    ("ServiceRequest", "subject", &["subject"]),
    ("Specimen", "subject", &["subject"]),
    ("SupplyDelivery", "patient", &["patient"]),
    ("SupplyRequest", "requester", &["requester"]),
    ("VisionPrescription", "patient", &["patient"]),
];

fn anchor(resource_type: &str) -> Option<(&'static str, &'static [&'static str])> {
    ANCHORS
        .binary_search_by(|(t, _, _)| t.cmp(&resource_type))
        .ok()
        .map(|i| (ANCHORS[i].1, ANCHORS[i].2))
}

/// The parameter a patient-restricted search on `resource_type` is narrowed by (injected as
/// `param=Patient/{id}`), from [`ANCHORS`]; `None` outside the compartment and for
/// `Patient` (narrowed by `_id`).
pub fn narrowing_param(resource_type: &str) -> Option<&'static str> {
    anchor(resource_type).map(|(param, _)| param)
}

/// The element paths (`subject`, `participant.actor`) whose references make a resource of
/// `resource_type` a patient's own, from [`ANCHORS`]; `None` outside the compartment and for
/// `Patient`.
pub fn anchor_paths(resource_type: &str) -> Option<&'static [&'static str]> {
    anchor(resource_type).map(|(_, paths)| paths)
}

/// A patient a resource names: its id and the element path of the Reference naming it
/// (member names from the resource's top level, array positions left out:
/// `participant.actor`, `contained.subject`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPatient {
    /// The patient id (`Patient/{id}`, under a local base or versioned, reduced to the id).
    pub id: String,
    /// Where the Reference is, e.g. `subject`.
    pub path: String,
}

impl NamedPatient {
    /// Whether this reference sits at one of `paths` and names a patient in `reached`.
    pub fn anchors(&self, paths: &[&str], reached: &std::collections::BTreeSet<String>) -> bool {
        paths.contains(&self.path.as_str()) && reached.contains(&self.id)
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
        assert_eq!(narrowing_param("Patient"), None);
        assert_eq!(
            anchor_paths("Appointment"),
            Some(&["participant.actor"][..])
        );
    }

    #[test]
    fn every_compartment_type_but_patient_has_an_anchor_among_its_parameters() {
        assert!(ANCHORS.windows(2).all(|w| w[0].0 < w[1].0));
        for (rt, ps) in PATIENT_COMPARTMENT {
            match narrowing_param(rt) {
                Some(param) => assert!(ps.contains(&param), "{rt}: {param}"),
                None => assert_eq!(*rt, "Patient"),
            }
        }
        assert_eq!(ANCHORS.len() + 1, PATIENT_COMPARTMENT.len());
    }
}
