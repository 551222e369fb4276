//! The element definitions of [`TYPED`] resource types, through fhir-sdk's R4B models: a
//! resource is read into its type's model (datatypes, required codes, 1..1 elements) and
//! written back, and every member the model did not keep is an element the definition does
//! not have.

use fhir_sdk::r4b::resources as r4b;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::outcome::{Issue, IssueCode};

macro_rules! typed {
    ($($name:ident),* $(,)?) => {
        /// The resource types checked against their element definitions: those whose R4B
        /// definition is R4 4.0.1's (R4B history.html: R4B changed only the medication
        /// definition, evidence, subscription and Substance resources, and `subject[x]` of
        /// ActivityDefinition and PlanDefinition, none of them listed). Other types get the
        /// JSON rules only.
        pub const TYPED: &[&str] = &[$(stringify!($name)),*];

        /// Runs the typed check of `resource_type`, if it is one of [`TYPED`].
        pub(super) fn check(resource: &Value, resource_type: &str, issues: &mut Vec<Issue>) {
            match resource_type {
                $(stringify!($name) => check_as::<r4b::$name>(resource, resource_type, issues),)*
                _ => {}
            }
        }
    };
}

typed!(
    Account,
    AllergyIntolerance,
    Appointment,
    AppointmentResponse,
    AuditEvent,
    Basic,
    Binary,
    BodyStructure,
    CarePlan,
    CareTeam,
    ChargeItem,
    Claim,
    ClaimResponse,
    ClinicalImpression,
    Communication,
    CommunicationRequest,
    Composition,
    Condition,
    Consent,
    Coverage,
    CoverageEligibilityRequest,
    CoverageEligibilityResponse,
    DetectedIssue,
    Device,
    DeviceMetric,
    DeviceRequest,
    DeviceUseStatement,
    DiagnosticReport,
    DocumentManifest,
    DocumentReference,
    Encounter,
    Endpoint,
    EpisodeOfCare,
    ExplanationOfBenefit,
    FamilyMemberHistory,
    Flag,
    Goal,
    Group,
    HealthcareService,
    ImagingStudy,
    Immunization,
    ImmunizationEvaluation,
    ImmunizationRecommendation,
    List,
    Location,
    Media,
    Medication,
    MedicationAdministration,
    MedicationDispense,
    MedicationRequest,
    MedicationStatement,
    NutritionOrder,
    Observation,
    OperationOutcome,
    Organization,
    Patient,
    Person,
    Practitioner,
    PractitionerRole,
    Procedure,
    Provenance,
    Questionnaire,
    QuestionnaireResponse,
    RelatedPerson,
    RiskAssessment,
    Schedule,
    ServiceRequest,
    Slot,
    Specimen,
    SupplyDelivery,
    SupplyRequest,
    Task,
    VisionPrescription,
);

/// Reads `resource` as `T`; on success compares it with what `T` writes back.
fn check_as<T: DeserializeOwned + Serialize>(
    resource: &Value,
    resource_type: &str,
    issues: &mut Vec<Issue>,
) {
    // The model reads decimals as binary floats; serde_json's exact numbers that a float
    // does not spell the same way (`104.50`) would reach it as something else.
    let mut resource = resource.clone();
    floats(&mut resource, &mut resource_type.to_owned(), issues);
    if !issues.is_empty() {
        return;
    }
    let resource = &resource;
    let typed: T = match serde_path_to_error::deserialize(resource) {
        Ok(typed) => typed,
        Err(e) => {
            issues.push(model_error(resource_type, &e));
            return;
        }
    };
    match serde_json::to_value(&typed) {
        Ok(back) => unknown(resource, &back, &mut resource_type.to_owned(), issues),
        Err(e) => issues.push(Issue::error(
            IssueCode::Structure,
            format!("{resource_type} could not be checked: {e}"),
        )),
    }
}

/// The model's refusal as an issue: a missing 1..1 element is `required`, a code outside
/// its required binding `value`, anything else (a wrong datatype) `structure`.
fn model_error(resource_type: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> Issue {
    let message = e.inner().to_string();
    let path = e.path().to_string();
    let at = if path == "." {
        resource_type.to_owned()
    } else {
        format!("{resource_type}.{path}")
    };
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        let at = format!("{at}.{field}");
        return Issue::error(
            IssueCode::Required,
            format!("{at} is required (minimum cardinality 1) and missing"),
        )
        .at(at);
    }
    // A choice element (`value[x]`) is an enum named after its owner and element.
    if let Some(choice) = message
        .strip_prefix("no variant of enum ")
        .and_then(|rest| rest.split(' ').next())
    {
        let owner = at.rsplit('.').next().unwrap_or(resource_type);
        let owner = owner.split('[').next().unwrap_or(owner);
        let name = choice.strip_prefix(owner).unwrap_or(choice);
        let mut chars = name.chars();
        let element = match chars.next() {
            Some(first) => format!("{}{}[x]", first.to_ascii_lowercase(), chars.as_str()),
            None => "value[x]".to_owned(),
        };
        let at = format!("{at}.{element}");
        return Issue::error(
            IssueCode::Required,
            format!("{at} is required (minimum cardinality 1) and missing or of a type it does not allow"),
        )
        .at(at);
    }
    if let Some(value) = message.strip_prefix("Unknown value: ") {
        return Issue::error(
            IssueCode::Value,
            format!("{at}: '{value}' is not a code of the element's required value set"),
        )
        .at(at);
    }
    let code = if message.starts_with("unknown variant") {
        IssueCode::Value
    } else {
        IssueCode::Structure
    };
    Issue::error(code, format!("{at}: {message}")).at(at)
}

/// Every member of `input` that `back` (the model's rewrite) lacks: an element the
/// definition does not have, reported at its path.
fn unknown(input: &Value, back: &Value, path: &mut String, issues: &mut Vec<Issue>) {
    if issues.len() >= super::MAX_ISSUES {
        return;
    }
    match (input, back) {
        (Value::Object(mine), Value::Object(theirs)) => {
            for (name, v) in mine {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                match theirs.get(name) {
                    Some(w) => unknown(v, w, path, issues),
                    None => issues.push(
                        Issue::error(
                            IssueCode::Structure,
                            format!(
                                "{path} is not an element of this resource type (FHIR R4 4.0.1)"
                            ),
                        )
                        .at(path.clone()),
                    ),
                }
                path.truncate(len);
            }
        }
        (Value::Array(mine), Value::Array(theirs)) => {
            for (i, (v, w)) in mine.iter().zip(theirs).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                unknown(v, w, path, issues);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Replaces every non-integer number by the float nearest to it (for the model only); a
/// number no float holds (`1e999`) is an issue: FHIR decimals are finite (R4 §2.24.0.1).
fn floats(value: &mut Value, path: &mut String, issues: &mut Vec<Issue>) {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            match n
                .as_f64()
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
            {
                Some(f) => *n = f,
                None => issues.push(
                    Issue::error(
                        IssueCode::Value,
                        format!("{path}: {n} is not a decimal FHIR can hold (out of range)"),
                    )
                    .at(path.clone()),
                ),
            }
        }
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                floats(v, path, issues);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                floats(v, path, issues);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
