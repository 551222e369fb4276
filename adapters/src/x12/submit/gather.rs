//! The resources a `$submit` needs, read from the store: the Patient, its Coverage (named by
//! `insurance.coverage`, else found by `beneficiary`), the subscriber when it is someone
//! else, the insurer Organization and the provider. What the client got wrong is a 422
//! OperationOutcome naming the element; store failures are `AdapterError`s.

use fhirgate_conformance::IssueCode;
use fhirgate_mappings::x12::eligibility::fhir::{reference_id, reference_target};
use http::StatusCode;
use serde_json::Value;

use crate::outcome::error_response;
use crate::store_client::StoreClient;
use crate::{AdapterError, FhirResponse};

/// What the 270 is built from, with the ids the answer references.
pub(crate) struct Gathered {
    /// The Patient (beneficiary) and its id.
    pub patient: (Value, String),
    /// The Coverage and its id.
    pub coverage: (Value, String),
    /// The subscriber when not the patient.
    pub subscriber: Option<Value>,
    /// The insurer Organization and its id.
    pub insurer: (Value, String),
    /// The provider (Practitioner or Organization).
    pub provider: Value,
}

/// A client error of `$submit`: answered as it is.
pub(crate) type Refusal = FhirResponse;

fn unprocessable(code: IssueCode, text: impl Into<String>) -> Refusal {
    error_response(StatusCode::UNPROCESSABLE_ENTITY, code, text)
}

/// The local `(type, id)` a Reference names: relative, or absolute under `base_url`.
fn local<'a>(reference: Option<&'a Value>, base_url: &str) -> Option<(&'a str, &'a str)> {
    let reference = reference?;
    let text = reference.get("reference")?.as_str()?;
    if text.contains("://") && !text.starts_with(&format!("{base_url}/")) {
        return None;
    }
    reference_target(reference)
}

impl StoreClient {
    /// Resolves everything `request` (a CoverageEligibilityRequest) references.
    pub async fn gather(
        &self,
        request: &Value,
        base_url: &str,
    ) -> Result<Result<Gathered, Refusal>, AdapterError> {
        let Some(("Patient", patient_id)) = local(request.get("patient"), base_url) else {
            return Ok(Err(unprocessable(
                IssueCode::Required,
                "CoverageEligibilityRequest.patient must reference a Patient on this server",
            )));
        };
        let Some(patient) = self.read("Patient", patient_id, base_url).await? else {
            return Ok(Err(unprocessable(
                IssueCode::NotFound,
                format!("Patient/{patient_id} does not exist"),
            )));
        };
        let coverage = match self.coverage(request, patient_id, base_url).await? {
            Ok(c) => c,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let subscriber = match local(coverage.0.get("subscriber"), base_url) {
            Some((rt @ ("Patient" | "RelatedPerson"), id))
                if !(rt == "Patient" && id == patient_id) =>
            {
                match self.read(rt, id, base_url).await? {
                    Some(s) => Some(s),
                    None => {
                        return Ok(Err(unprocessable(
                            IssueCode::NotFound,
                            format!("Coverage.subscriber {rt}/{id} does not exist"),
                        )));
                    }
                }
            }
            _ => None,
        };
        let insurer_ref = request
            .get("insurer")
            .or_else(|| coverage.0.pointer("/payor/0"));
        let Some(("Organization", insurer_id)) = local(insurer_ref, base_url) else {
            return Ok(Err(unprocessable(
                IssueCode::BusinessRule,
                "the insurer (CoverageEligibilityRequest.insurer, else Coverage.payor) must be an Organization on this server; a self-pay Coverage cannot be checked",
            )));
        };
        let insurer_id = insurer_id.to_owned();
        let Some(insurer) = self.read("Organization", &insurer_id, base_url).await? else {
            return Ok(Err(unprocessable(
                IssueCode::NotFound,
                format!("Organization/{insurer_id} (the insurer) does not exist"),
            )));
        };
        let provider = match local(request.get("provider"), base_url) {
            Some((rt @ ("Practitioner" | "Organization"), id)) => {
                self.read(rt, id, base_url).await?
            }
            Some(("PractitionerRole", id)) => {
                match self.read("PractitionerRole", id, base_url).await? {
                    Some(role) => match role
                        .get("practitioner")
                        .and_then(|p| reference_id(p, "Practitioner"))
                    {
                        Some(pid) => self.read("Practitioner", pid, base_url).await?,
                        None => None,
                    },
                    None => None,
                }
            }
            _ => {
                return Ok(Err(unprocessable(
                    IssueCode::Required,
                    "CoverageEligibilityRequest.provider (a Practitioner, PractitionerRole or Organization with an NPI) is required: the 270 names the provider asking (loop 2100B)",
                )));
            }
        };
        let Some(provider) = provider else {
            return Ok(Err(unprocessable(
                IssueCode::NotFound,
                "CoverageEligibilityRequest.provider does not exist",
            )));
        };
        Ok(Ok(Gathered {
            patient: (patient, patient_id.to_owned()),
            coverage,
            subscriber,
            insurer: (insurer, insurer_id),
            provider,
        }))
    }

    /// The Coverage named by `insurance` (focal first), which must cover the patient; else
    /// the patient's active Coverage (preferring one paid by `insurer`).
    async fn coverage(
        &self,
        request: &Value,
        patient_id: &str,
        base_url: &str,
    ) -> Result<Result<(Value, String), Refusal>, AdapterError> {
        let insurances = request
            .get("insurance")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let chosen = insurances
            .iter()
            .find(|i| i.get("focal").and_then(Value::as_bool) == Some(true))
            .or(insurances.first())
            .and_then(|i| i.get("coverage"));
        if let Some(reference) = chosen {
            let Some(("Coverage", id)) = local(Some(reference), base_url) else {
                return Ok(Err(unprocessable(
                    IssueCode::Value,
                    "CoverageEligibilityRequest.insurance.coverage must reference a Coverage on this server",
                )));
            };
            // Missing and someone else's answer alike, so the answer never tells whether
            // another patient's Coverage exists.
            let not_theirs = || {
                unprocessable(
                    IssueCode::NotFound,
                    format!(
                        "Coverage/{id} does not exist or does not cover Patient/{patient_id} \
                         (Coverage.beneficiary)"
                    ),
                )
            };
            let Some(c) = self.read("Coverage", id, base_url).await? else {
                return Ok(Err(not_theirs()));
            };
            if c.get("beneficiary")
                .and_then(|b| reference_id(b, "Patient"))
                != Some(patient_id)
            {
                return Ok(Err(not_theirs()));
            }
            return Ok(Ok((c, id.to_owned())));
        }
        let beneficiary = format!("Patient/{patient_id}");
        let found = self
            .search(
                "Coverage",
                &[
                    ("beneficiary", &beneficiary),
                    ("status", "active"),
                    ("_count", "50"),
                ],
                base_url,
            )
            .await?;
        let insurer = request
            .get("insurer")
            .and_then(|r| reference_id(r, "Organization"));
        let pays = |c: &&Value| {
            insurer.is_none_or(|i| {
                c.pointer("/payor/0")
                    .and_then(|p| reference_id(p, "Organization"))
                    == Some(i)
            })
        };
        let Some(c) = found.iter().find(pays).or(found.first()) else {
            return Ok(Err(unprocessable(
                IssueCode::BusinessRule,
                format!(
                    "Patient/{patient_id} has no active Coverage: the payer finds the member through Coverage.beneficiary and subscriberId"
                ),
            )));
        };
        let id = c
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(Ok((c.clone(), id)))
    }
}
