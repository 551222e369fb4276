//! The FHIR resources a NewRx or CancelRx is built from, and how they are gathered from a
//! Bundle or from a MedicationRequest with contained resources.

use serde_json::Value;

use crate::MappingError;

/// The resources a NewRx/CancelRx is built from (FHIR R4 JSON, references already
/// resolved). A resource that could not be found is `Value::Null`;
/// [`super::missing_new_rx_elements`] then names it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prescription {
    /// The MedicationRequest (intent `order`).
    pub medication_request: Value,
    /// `MedicationRequest.subject` → Patient.
    pub patient: Value,
    /// `MedicationRequest.requester` → Practitioner (through PractitionerRole when the
    /// requester is one).
    pub prescriber: Value,
    /// The prescriber's Organization (PractitionerRole.organization), if any: written as
    /// `Prescriber/NonVeterinarian/PracticeLocation/BusinessName`.
    pub organization: Option<Value>,
    /// The prescriber's Location (PractitionerRole.location), if any (its name is used when
    /// there is no Organization, its address when the Practitioner has none).
    pub location: Option<Value>,
    /// `MedicationRequest.medicationReference` → Medication, when the request uses one.
    pub medication: Option<Value>,
    /// Coverages (MedicationRequest.insurance, or those whose beneficiary is the patient):
    /// each becomes a `BenefitsCoordination`.
    pub coverage: Vec<Value>,
    /// `MedicationRequest.dispenseRequest.performer` → Organization carrying the pharmacy's
    /// NCPDP ID (`http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber`).
    pub pharmacy: Value,
}

/// What the caller knows about an inbound message's context when mapping it to FHIR
/// ([`super::message_to_fhir`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundContext {
    /// The MedicationRequest the message relates to, as a reference (`MedicationRequest/123`),
    /// found by the caller through `RelatesToMessageID`/`PrescriberOrderNumber`. Used as
    /// `MedicationDispense.authorizingPrescription`, `Task.focus`, `basedOn`, and as the id of
    /// the cancelled MedicationRequest for CancelRx.
    pub medication_request: Option<String>,
    /// The Patient reference to use instead of creating a Patient from the message
    /// (`Patient/123`).
    pub patient: Option<String>,
    /// The prescriber's reference (`Practitioner/123`), used as Task owner / requester instead
    /// of creating a Practitioner.
    pub prescriber: Option<String>,
}

/// Resolves `reference` (`Type/id`, an absolute URL ending in `Type/id`, `urn:uuid:…` or
/// `#contained`) among `resources` (each paired with its Bundle `fullUrl`, if any) and the
/// `contained` resources of `container`.
fn resolve<'a>(
    reference: &Value,
    resources: &'a [(Option<&'a str>, &'a Value)],
    container: &'a Value,
) -> Option<&'a Value> {
    let r = reference.get("reference")?.as_str()?;
    if let Some(local) = r.strip_prefix('#') {
        return container["contained"]
            .as_array()?
            .iter()
            .find(|c| c["id"].as_str() == Some(local));
    }
    if let Some(hit) = resources.iter().find(|(full, _)| *full == Some(r)) {
        return Some(hit.1);
    }
    let mut parts = r.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    resources
        .iter()
        .map(|(_, v)| *v)
        .find(|v| v["resourceType"].as_str() == Some(ty) && v["id"].as_str() == Some(id))
}

impl Prescription {
    /// Gathers a Prescription from `input`: a Bundle of any type holding one
    /// MedicationRequest and the resources it references (matched by `fullUrl` or
    /// `Type/id`), or a MedicationRequest whose references point at contained resources.
    /// References that resolve to nothing leave `Value::Null` (or `None`) behind.
    ///
    /// Errors: [`MappingError::Invalid`] (format `fhir`) when the input holds no
    /// MedicationRequest, or more than one.
    pub fn from_bundle(input: &Value) -> Result<Self, MappingError> {
        let owned: Vec<(Option<&str>, &Value)> = if input["resourceType"] == "Bundle" {
            input["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (e["fullUrl"].as_str(), &e["resource"]))
                .collect()
        } else {
            vec![(None, input)]
        };
        Self::from_resources(&owned)
    }

    /// As [`Prescription::from_bundle`], over resources each with an optional `fullUrl`.
    pub fn from_resources(resources: &[(Option<&str>, &Value)]) -> Result<Self, MappingError> {
        let mut requests = resources
            .iter()
            .map(|(_, v)| *v)
            .filter(|v| v["resourceType"] == "MedicationRequest");
        let Some(mr) = requests.next() else {
            return Err(MappingError::invalid(
                "fhir",
                "the input holds no MedicationRequest",
            ));
        };
        if requests.next().is_some() {
            return Err(MappingError::invalid(
                "fhir",
                "the input holds more than one MedicationRequest; map one prescription at a time",
            ));
        }
        let find = |reference: &Value, ty: &str| {
            resolve(reference, resources, mr)
                .filter(|v| v["resourceType"] == ty)
                .cloned()
        };
        let patient = find(&mr["subject"], "Patient").unwrap_or(Value::Null);
        let requester = resolve(&mr["requester"], resources, mr);
        let (prescriber, organization, location) = match requester {
            Some(r) if r["resourceType"] == "PractitionerRole" => (
                resolve(&r["practitioner"], resources, mr)
                    .or_else(|| resolve(&r["practitioner"], resources, r))
                    .filter(|v| v["resourceType"] == "Practitioner")
                    .cloned()
                    .unwrap_or(Value::Null),
                resolve(&r["organization"], resources, mr)
                    .filter(|v| v["resourceType"] == "Organization")
                    .cloned(),
                r["location"]
                    .as_array()
                    .and_then(|l| l.first())
                    .and_then(|l| resolve(l, resources, mr))
                    .filter(|v| v["resourceType"] == "Location")
                    .cloned(),
            ),
            Some(r) if r["resourceType"] == "Practitioner" => (r.clone(), None, None),
            _ => (Value::Null, None, None),
        };
        let medication = find(&mr["medicationReference"], "Medication");
        let mut coverage: Vec<Value> = mr["insurance"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| find(i, "Coverage"))
            .collect();
        if coverage.is_empty() {
            let subject = mr["subject"]["reference"].as_str();
            coverage = resources
                .iter()
                .map(|(_, v)| *v)
                .filter(|v| v["resourceType"] == "Coverage")
                .filter(|v| subject.is_some() && v["beneficiary"]["reference"].as_str() == subject)
                .cloned()
                .collect();
        }
        let pharmacy =
            find(&mr["dispenseRequest"]["performer"], "Organization").unwrap_or(Value::Null);
        Ok(Prescription {
            medication_request: mr.clone(),
            patient,
            prescriber,
            organization,
            location,
            medication,
            coverage,
            pharmacy,
        })
    }
}
