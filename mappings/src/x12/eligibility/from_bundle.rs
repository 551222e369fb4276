//! A FHIR resource or Bundle → the 270 or 271 it asks for: a CoverageEligibilityRequest
//! and the resources it references (found in the Bundle by `fullUrl` or `Type/id`) make a
//! 270; a CoverageEligibilityResponse with its patient, insurer, requestor and Coverage makes
//! a 271. For `fhirgate map --from fhir --to x12`.

use serde_json::{Value, json};

use super::answer::{AnswerResources, coverage_eligibility_response_to_271};
use super::fhir::{V2_0203, codes, reference_id, reference_target, text};
use super::inquiry::{InquiryControl, InquiryResources, coverage_eligibility_request_to_270};
use super::model::Eligibility;
use crate::MappingError;

/// The resources of a Bundle (or a single resource), looked up by reference.
pub struct Resolver<'a> {
    entries: Vec<(Option<&'a str>, &'a Value)>,
}

impl<'a> Resolver<'a> {
    /// Indexes `input`: a Bundle's entries (with their `fullUrl`) or one resource.
    pub fn new(input: &'a Value) -> Self {
        let entries = if input.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            input
                .get("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    Some((e.get("fullUrl").and_then(Value::as_str), e.get("resource")?))
                })
                .collect()
        } else {
            vec![(None, input)]
        };
        Self { entries }
    }

    /// The first resource of type `rt`.
    pub fn first(&self, rt: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .map(|(_, r)| *r)
            .find(|r| r.get("resourceType").and_then(Value::as_str) == Some(rt))
    }

    /// The resource a Reference names: by `fullUrl`, else by `Type/id`.
    pub fn resolve(&self, reference: Option<&Value>) -> Option<&'a Value> {
        let reference = reference?;
        let target = reference.get("reference").and_then(Value::as_str)?;
        if let Some((_, r)) = self.entries.iter().find(|(url, _)| *url == Some(target)) {
            return Some(r);
        }
        let (rt, id) = reference_target(reference)?;
        self.entries.iter().map(|(_, r)| *r).find(|r| {
            r.get("resourceType").and_then(Value::as_str) == Some(rt)
                && r.get("id").and_then(Value::as_str) == Some(id)
        })
    }
}

fn missing(what: &str) -> MappingError {
    MappingError::invalid("fhir", format!("{what} is not in the input"))
}

/// Builds the 270 or 271 (see the module docs); `control` gives the 270's BHT03, trace
/// and time (a 271 takes its time from it too).
///
/// Errors: neither resource present; a referenced resource missing from the Bundle; what
/// [`coverage_eligibility_request_to_270`] or [`coverage_eligibility_response_to_271`] refuse.
pub fn fhir_to_eligibility(
    input: &Value,
    control: &InquiryControl,
) -> Result<Eligibility, MappingError> {
    let all = Resolver::new(input);
    if let Some(request) = all.first("CoverageEligibilityRequest") {
        return request_to_270(&all, request, control);
    }
    let Some(response) = all.first("CoverageEligibilityResponse") else {
        return Err(MappingError::invalid(
            "fhir",
            "the input holds no CoverageEligibilityRequest or CoverageEligibilityResponse",
        ));
    };
    let patient = all
        .resolve(response.get("patient"))
        .ok_or_else(|| missing("CoverageEligibilityResponse.patient"))?;
    let insurer = all
        .resolve(response.get("insurer"))
        .ok_or_else(|| missing("CoverageEligibilityResponse.insurer"))?;
    let provider = all
        .resolve(response.get("requestor"))
        .ok_or_else(|| missing("CoverageEligibilityResponse.requestor"))?;
    let coverage = all.resolve(response.pointer("/insurance/0/coverage"));
    let stand_in;
    let coverage_for_inquiry = match coverage {
        Some(c) => c,
        None => {
            let member_id = patient
                .get("identifier")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|i| {
                    i.get("type")
                        .is_some_and(|t| codes(t, V2_0203).contains(&"MB"))
                })
                .and_then(|i| text(i, &["value"]))
                .ok_or_else(|| missing("a Coverage or a Patient member id (identifier type MB)"))?;
            stand_in = json!({"resourceType": "Coverage", "subscriberId": member_id});
            &stand_in
        }
    };
    let asked =
        json!({"resourceType": "CoverageEligibilityRequest", "patient": response.get("patient")});
    let inquiry = coverage_eligibility_request_to_270(
        &InquiryResources {
            request: &asked,
            patient,
            coverage: coverage_for_inquiry,
            subscriber: None,
            insurer,
            provider,
        },
        control,
    )?;
    let date = control.created.strftime("%Y%m%d").to_string();
    let time = control.created.strftime("%H%M").to_string();
    coverage_eligibility_response_to_271(&AnswerResources {
        response,
        coverage,
        member: None,
        insurer: Some(insurer),
        inquiry: &inquiry,
        created: (&date, &time),
    })
}

fn request_to_270(
    all: &Resolver<'_>,
    request: &Value,
    control: &InquiryControl,
) -> Result<Eligibility, MappingError> {
    let patient = all
        .resolve(request.get("patient"))
        .ok_or_else(|| missing("CoverageEligibilityRequest.patient"))?;
    let insurances = request
        .get("insurance")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let chosen = insurances
        .iter()
        .find(|i| i.get("focal").and_then(Value::as_bool) == Some(true))
        .or(insurances.first());
    let patient_id = reference_id(request.get("patient").unwrap_or(&Value::Null), "Patient");
    let coverage = all
        .resolve(chosen.and_then(|i| i.get("coverage")))
        .or_else(|| {
            all.entries.iter().map(|(_, r)| *r).find(|r| {
                r.get("resourceType").and_then(Value::as_str) == Some("Coverage")
                    && r.get("beneficiary")
                        .and_then(|b| reference_id(b, "Patient"))
                        == patient_id
            })
        })
        .ok_or_else(|| missing("the patient's Coverage"))?;
    let insurer = all
        .resolve(request.get("insurer"))
        .or_else(|| all.resolve(coverage.pointer("/payor/0")))
        .ok_or_else(|| missing("the insurer Organization"))?;
    let provider = all
        .resolve(request.get("provider"))
        .ok_or_else(|| missing("CoverageEligibilityRequest.provider"))?;
    let subscriber = all
        .resolve(coverage.get("subscriber"))
        .filter(|s| !std::ptr::eq(*s, patient) && s.get("id") != patient.get("id"));
    coverage_eligibility_request_to_270(
        &InquiryResources {
            request,
            patient,
            coverage,
            subscriber,
            insurer,
            provider,
        },
        control,
    )
}
