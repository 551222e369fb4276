//! Parameters of the patient-compartment resource types the shipped flows do not otherwise
//! search: for each type of the R4 CompartmentDefinition `patient` (FHIR R4 4.0.1
//! compartmentdefinition-patient.html), the parameter the gateway narrows a
//! patient-restricted search by, with its R4 SearchParameter expression's element paths,
//! and the type's R4 `patient` and `subject` parameters where it has them.
//!
//! A `patient` parameter whose R4 expression is `X.subject.where(resolve() is Patient)`
//! indexes `subject` with target `Patient`; one over an element that only references a
//! Patient (`Consent.patient`) has no target, as in [`super::table`].

use super::ParamDef;
use super::ParamType::Reference;

const fn r(
    resource: &'static str,
    name: &'static str,
    paths: &'static [&'static str],
    target: Option<&'static str>,
) -> ParamDef {
    ParamDef {
        resource,
        name,
        kind: Reference,
        paths,
        target,
    }
}

const PATIENT: Option<&str> = Some("Patient");

/// The compartment types' reference parameters: one row per parameter.
#[rustfmt::skip]
pub(crate) static PARAMS: &[ParamDef] = &[
    r("Account", "subject", &["subject"], None),
    r("Account", "patient", &["subject"], PATIENT),
    r("AdverseEvent", "subject", &["subject"], None),
    r("AppointmentResponse", "actor", &["actor"], None),
    r("AppointmentResponse", "patient", &["actor"], PATIENT),
    r("Basic", "subject", &["subject"], None),
    r("Basic", "patient", &["subject"], PATIENT),
    r("BodyStructure", "patient", &["patient"], None),
    r("ChargeItem", "subject", &["subject"], None),
    r("ChargeItem", "patient", &["subject"], PATIENT),
    r("ClaimResponse", "patient", &["patient"], None),
    r("ClinicalImpression", "subject", &["subject"], None),
    r("ClinicalImpression", "patient", &["subject"], PATIENT),
    r("Communication", "subject", &["subject"], None),
    r("Communication", "patient", &["subject"], PATIENT),
    r("CommunicationRequest", "subject", &["subject"], None),
    r("CommunicationRequest", "patient", &["subject"], PATIENT),
    r("Composition", "subject", &["subject"], None),
    r("Composition", "patient", &["subject"], PATIENT),
    r("Consent", "patient", &["patient"], None),
    r("DetectedIssue", "patient", &["patient"], None),
    r("DeviceRequest", "subject", &["subject"], None),
    r("DeviceRequest", "patient", &["subject"], PATIENT),
    r("DeviceUseStatement", "subject", &["subject"], None),
    r("DeviceUseStatement", "patient", &["subject"], PATIENT),
    r("DocumentManifest", "subject", &["subject"], None),
    r("DocumentManifest", "patient", &["subject"], PATIENT),
    r("EnrollmentRequest", "subject", &["candidate"], None),
    r("EnrollmentRequest", "patient", &["candidate"], None),
    r("EpisodeOfCare", "patient", &["patient"], None),
    r("FamilyMemberHistory", "patient", &["patient"], None),
    r("Flag", "subject", &["subject"], None),
    r("Flag", "patient", &["subject"], PATIENT),
    r("Group", "member", &["member.entity"], None),
    r("ImagingStudy", "subject", &["subject"], None),
    r("ImagingStudy", "patient", &["subject"], PATIENT),
    r("ImmunizationEvaluation", "patient", &["patient"], None),
    r("ImmunizationRecommendation", "patient", &["patient"], None),
    r("Invoice", "subject", &["subject"], None),
    r("Invoice", "patient", &["subject"], PATIENT),
    r("List", "subject", &["subject"], None),
    r("List", "patient", &["subject"], PATIENT),
    r("MeasureReport", "subject", &["subject"], None),
    r("MeasureReport", "patient", &["subject"], PATIENT),
    r("Media", "subject", &["subject"], None),
    r("Media", "patient", &["subject"], PATIENT),
    r("MedicationAdministration", "subject", &["subject"], None),
    r("MedicationAdministration", "patient", &["subject"], PATIENT),
    r("MedicationStatement", "subject", &["subject"], None),
    r("MedicationStatement", "patient", &["subject"], PATIENT),
    r("MolecularSequence", "patient", &["patient"], None),
    r("NutritionOrder", "patient", &["patient"], None),
    r("Person", "link", &["link.target"], None),
    r("Person", "patient", &["link.target"], PATIENT),
    r("QuestionnaireResponse", "subject", &["subject"], None),
    r("QuestionnaireResponse", "patient", &["subject"], PATIENT),
    r("RelatedPerson", "patient", &["patient"], None),
    r("RequestGroup", "subject", &["subject"], None),
    r("RequestGroup", "patient", &["subject"], PATIENT),
    r("ResearchSubject", "individual", &["individual"], None),
    r("ResearchSubject", "patient", &["individual"], None),
    r("RiskAssessment", "subject", &["subject"], None),
    r("RiskAssessment", "patient", &["subject"], PATIENT),
    r("ServiceRequest", "subject", &["subject"], None),
    r("ServiceRequest", "patient", &["subject"], PATIENT),
    r("Specimen", "subject", &["subject"], None),
    r("Specimen", "patient", &["subject"], PATIENT),
    r("SupplyDelivery", "patient", &["patient"], None),
    r("SupplyRequest", "requester", &["requester"], None),
    r("VisionPrescription", "patient", &["patient"], None),
];
