//! FHIR CoverageEligibilityRequest (+ Patient, Coverage, insurer Organization, provider with
//! an NPI) → a 270 [`Eligibility`] (005010X279A1): 2100A payer from the insurer, 2100B
//! provider (`1P`, NPI `XX`), 2100C subscriber (`IL`, member id `MI` = Coverage.subscriberId)
//! and, when the patient is not the subscriber, 2100D dependent (`03`); DMG, DTP*291 and one
//! EQ per `item.category` (X12 service type code; `30` when there is none).

use serde_json::Value;

use super::benefits::category_service_types;
use super::fhir::{
    CPT_SYSTEM, HCPCS_SYSTEM, NPI_SYSTEM, V2_0203, codes, date_to_x12, gender_to_x12, identifier,
    npi_is_valid, person_name, reference_id, text,
};
use super::model::{DateValue, Eligibility, Entity, Inquiry, Member, MemberRelationship, Trace};
use crate::MappingError;
use crate::x12::codes::SERVICE_TYPE;

/// The resources a 270 is built from. `subscriber` is the Patient (or RelatedPerson) named
/// by `Coverage.subscriber` when that is not `patient`.
#[derive(Debug, Clone, Copy)]
pub struct InquiryResources<'a> {
    /// The CoverageEligibilityRequest.
    pub request: &'a Value,
    /// The Patient it is about (`CoverageEligibilityRequest.patient`).
    pub patient: &'a Value,
    /// The Coverage whose `beneficiary` is the patient.
    pub coverage: &'a Value,
    /// The subscriber, when not the patient.
    pub subscriber: Option<&'a Value>,
    /// The insurer Organization (`CoverageEligibilityRequest.insurer` or `Coverage.payor`).
    pub insurer: &'a Value,
    /// The provider asking (`CoverageEligibilityRequest.provider`): Practitioner or
    /// Organization with an NPI.
    pub provider: &'a Value,
}

/// The values of a 270 that come from the sender, not from FHIR.
#[derive(Debug, Clone)]
pub struct InquiryControl {
    /// BHT03 submitter's reference.
    pub reference: String,
    /// TRN02 trace number, echoed by the payer in its 271 (TRN*2).
    pub trace_number: String,
    /// TRN03 originating company identifier (10 characters: `1` + tax id, or assigned).
    pub originator: String,
    /// BHT04/BHT05: when the inquiry was created.
    pub created: jiff::civil::DateTime,
}

fn required(detail: &str) -> MappingError {
    MappingError::invalid("fhir", detail.to_owned())
}

/// Builds the 270 (see the module docs).
///
/// Errors ([`MappingError::Invalid`], format `fhir`, naming the element and the 270 field
/// it fills): no `Coverage.subscriberId`; an insurer without name or identifier; a provider
/// without a valid NPI or name; a patient or subscriber without a name; an `item.category`
/// that carries no known X12 service type code.
pub fn coverage_eligibility_request_to_270(
    r: &InquiryResources<'_>,
    control: &InquiryControl,
) -> Result<Eligibility, MappingError> {
    let member_id = text(r.coverage, &["subscriberId"])
        .ok_or_else(|| required("Coverage.subscriberId is required (270 2100C NM109 member id)"))?;
    let mut subscriber = member(r.subscriber.unwrap_or(r.patient), "IL", "subscriber")?;
    subscriber.name.id_qualifier = "MI".into();
    subscriber.name.id = member_id.to_owned();
    for (system_type, qualifier) in [("group", "6P"), ("plan", "18")] {
        if let Some(v) = class_value(r.coverage, system_type) {
            subscriber
                .name
                .references
                .push((qualifier.into(), v.to_owned()));
        }
    }
    let inquiries = inquiries(r.request)?;
    let dates = service_date(r.request).into_iter().collect::<Vec<_>>();
    let trace = Trace {
        trace_type: "1".into(),
        number: control.trace_number.clone(),
        originator: control.originator.clone(),
    };
    let dependent = match r.subscriber {
        None => {
            subscriber.traces.push(trace);
            subscriber.dates = dates;
            subscriber.inquiries = inquiries;
            None
        }
        Some(_) => {
            let mut d = member(r.patient, "03", "patient")?;
            d.traces.push(trace);
            d.relationship = Some(MemberRelationship {
                is_subscriber: "N".into(),
                relationship: relationship_code(r.coverage).into(),
                ..Default::default()
            });
            d.dates = dates;
            d.inquiries = inquiries;
            Some(d)
        }
    };
    Ok(Eligibility {
        transaction: "270".into(),
        purpose: "13".into(),
        reference: control.reference.clone(),
        date: control.created.strftime("%Y%m%d").to_string(),
        time: control.created.strftime("%H%M").to_string(),
        source: payer(r.insurer)?,
        receiver: Some(provider(r.provider)?),
        subscriber: Some(subscriber),
        dependent,
        ..Default::default()
    })
}

/// The payer id: an identifier typed `NIIP` (HL7 v2 table 0203), else one whose system
/// names a payer, else the first identifier.
pub fn payer_id(org: &Value) -> Option<&str> {
    let ids = org.get("identifier")?.as_array()?;
    let typed = ids.iter().find(|i| {
        i.get("type")
            .is_some_and(|t| codes(t, V2_0203).contains(&"NIIP"))
    });
    let named = ids.iter().find(|i| {
        i.get("system")
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("payer") || s.contains("payor"))
    });
    typed
        .or(named)
        .or_else(|| {
            ids.iter()
                .find(|i| i.get("system").and_then(Value::as_str) != Some(NPI_SYSTEM))
        })
        .and_then(|i| text(i, &["value"]))
}

fn payer(org: &Value) -> Result<Entity, MappingError> {
    let name = text(org, &["name"])
        .ok_or_else(|| required("the insurer Organization.name is required (270 2100A NM103)"))?;
    let id = payer_id(org).ok_or_else(|| {
        required("the insurer Organization needs an identifier (270 2100A NM109 payer id)")
    })?;
    Ok(Entity {
        entity_code: "PR".into(),
        person: false,
        last_or_org: name.to_owned(),
        id_qualifier: "PI".into(),
        id: id.to_owned(),
        ..Default::default()
    })
}

fn provider(resource: &Value) -> Result<Entity, MappingError> {
    let npi = identifier(resource, NPI_SYSTEM)
        .ok_or_else(|| required("the provider needs an NPI identifier (system http://hl7.org/fhir/sid/us-npi; 270 2100B NM109)"))?;
    if !npi_is_valid(npi) {
        return Err(required(
            "the provider's NPI fails its check digit (270 2100B NM109)",
        ));
    }
    let mut e = Entity {
        entity_code: "1P".into(),
        id_qualifier: "XX".into(),
        id: npi.to_owned(),
        ..Default::default()
    };
    match resource.get("resourceType").and_then(Value::as_str) {
        Some("Practitioner") => {
            let n = person_name(resource).ok_or_else(|| {
                required("the provider Practitioner.name is required (270 2100B NM103)")
            })?;
            e.person = true;
            e.last_or_org = n.family;
            e.first = n.first;
            e.middle = n.middle;
            e.suffix = n.suffix;
        }
        Some("Organization") => {
            e.last_or_org = text(resource, &["name"])
                .ok_or_else(|| {
                    required("the provider Organization.name is required (270 2100B NM103)")
                })?
                .to_owned();
        }
        _ => {
            return Err(required(
                "CoverageEligibilityRequest.provider must be a Practitioner or an Organization",
            ));
        }
    }
    Ok(e)
}

fn member(resource: &Value, entity_code: &str, role: &str) -> Result<Member, MappingError> {
    let n = person_name(resource).ok_or_else(|| {
        MappingError::invalid("fhir", format!("the {role} needs a name (270 NM103/NM104)"))
    })?;
    Ok(Member {
        name: Entity {
            entity_code: entity_code.into(),
            person: true,
            last_or_org: n.family,
            first: n.first,
            middle: n.middle,
            suffix: n.suffix,
            ..Default::default()
        },
        birth_date: text(resource, &["birthDate"])
            .and_then(date_to_x12)
            .unwrap_or_default(),
        gender: match resource.get("gender") {
            Some(_) => gender_to_x12(text(resource, &["gender"])).into(),
            None => String::new(),
        },
        ..Default::default()
    })
}

fn class_value<'a>(coverage: &'a Value, class_type: &str) -> Option<&'a str> {
    coverage.get("class")?.as_array()?.iter().find_map(|c| {
        codes(
            c.get("type")?,
            "http://terminology.hl7.org/CodeSystem/coverage-class",
        )
        .contains(&class_type)
        .then(|| text(c, &["value"]))
        .flatten()
    })
}

/// INS02 of a dependent (270 2100D: `01` spouse, `19` child, `34` other adult).
fn relationship_code(coverage: &Value) -> &'static str {
    let rel = coverage
        .get("relationship")
        .map(|r| {
            codes(
                r,
                "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            )
        })
        .unwrap_or_default();
    match rel.first().copied() {
        Some("spouse" | "common") => "01",
        Some("child") => "19",
        _ => "34",
    }
}

/// DTP*291 from `servicedDate` (D8) or `servicedPeriod` (RD8).
fn service_date(request: &Value) -> Option<DateValue> {
    if let Some(d) = text(request, &["servicedDate"]).and_then(date_to_x12) {
        return Some(DateValue {
            qualifier: "291".into(),
            format: "D8".into(),
            value: d,
        });
    }
    let start = text(request, &["servicedPeriod", "start"]).and_then(date_to_x12)?;
    let end = text(request, &["servicedPeriod", "end"])
        .and_then(date_to_x12)
        .unwrap_or_else(|| start.clone());
    Some(DateValue {
        qualifier: "291".into(),
        format: "RD8".into(),
        value: format!("{start}-{end}"),
    })
}

/// One EQ per item: its X12 service type codes (`item.category` with system 1365 or the FHIR
/// example benefit categories, which reuse them) and a CPT/HCPCS `productOrService` as EQ02.
fn inquiries(request: &Value) -> Result<Vec<Inquiry>, MappingError> {
    let items = request
        .get("item")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut service_types = Vec::new();
        if let Some(category) = item.get("category") {
            let Some(code) = category_service_types(category).into_iter().next() else {
                return Err(MappingError::invalid(
                    "fhir",
                    format!(
                        "CoverageEligibilityRequest.item[{i}].category holds no X12 service type code (system {}; 270 EQ01)",
                        SERVICE_TYPE.system
                    ),
                ));
            };
            service_types.push(code);
        }
        let product = item.get("productOrService");
        let procedure = product.and_then(|p| {
            codes(p, CPT_SYSTEM)
                .first()
                .or(codes(p, HCPCS_SYSTEM).first())
                .map(|c| ("HC".to_owned(), (*c).to_owned()))
        });
        if service_types.is_empty() && procedure.is_none() {
            service_types.push("30".into());
        }
        out.push(Inquiry {
            service_types,
            procedure,
        });
    }
    if out.is_empty() {
        out.push(Inquiry {
            service_types: vec!["30".into()],
            procedure: None,
        });
    }
    Ok(out)
}

/// The Patient id of `CoverageEligibilityRequest.patient`.
pub fn request_patient_id(request: &Value) -> Option<&str> {
    reference_id(request.get("patient")?, "Patient")
}
