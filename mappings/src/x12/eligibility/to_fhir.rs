//! A whole 270 or 271 → the FHIR resources it describes, as Bundle entries (`fullUrl`,
//! resource) with deterministic `urn:uuid:` references: for `fhirgate map --from x12`.
//!
//! 270 → CoverageEligibilityRequest, Patient (and the subscriber's Patient for a
//! dependent), Coverage, insurer Organization, provider Practitioner/Organization.
//! 271 → CoverageEligibilityResponse, the Coverage it confirms, the member's Patient as the
//! payer knows them, the payer Organization and the provider.

use serde_json::{Value, json};

use super::fhir::{
    NPI_SYSTEM, TRACE_SYSTEM_PREFIX, fhir_address, human_name, typed_identifier, urn_uuid,
    x12_to_date, x12_to_gender,
};
use super::model::{Eligibility, Entity, Member};
use super::response::{ResponseContext, eligibility_271_to_coverage_eligibility_response};
use crate::MappingError;
use crate::x12::codes::SERVICE_TYPE;

/// One Bundle entry: `fullUrl` and resource.
pub type Entry = (String, Value);

/// Maps a 270 or 271 (see the module docs).
///
/// Errors: a 271 the response mapping refuses; a 270 without a subscriber.
pub fn eligibility_to_fhir(e: &Eligibility) -> Result<Vec<Entry>, MappingError> {
    let seed = |role: &str| {
        let trace = e
            .patient()
            .and_then(|m| m.traces.first())
            .map(|t| t.number.as_str())
            .unwrap_or("");
        urn_uuid(&[&e.transaction, &e.reference, &e.date, &e.time, trace, role])
    };
    let reference = |url: &str| json!({ "reference": url });
    let payer_url = seed("payer");
    let mut entries = vec![(payer_url.clone(), organization(&e.source, true))];
    let provider_url = seed("provider");
    if let Some(r) = &e.receiver {
        entries.push((provider_url.clone(), provider(r)));
    }
    let patient_url = seed("patient");
    let coverage_url = seed("coverage");
    if e.transaction == "271" {
        let ctx = ResponseContext {
            id: None,
            patient: match e.patient() {
                Some(_) => reference(&patient_url),
                None => {
                    json!({"display": "not identified (the payer rejected the request before the subscriber loop)"})
                }
            },
            coverage: reference(&coverage_url),
            insurer: Some(reference(&payer_url)),
            requestor: e.receiver.as_ref().map(|_| reference(&provider_url)),
            request: None,
            created: None,
            purpose: Vec::new(),
            serviced: None,
            sent: None,
        };
        let mapped = eligibility_271_to_coverage_eligibility_response(e, &ctx)?;
        entries.insert(0, (seed("response"), mapped.response));
        if let Some(m) = mapped.member {
            entries.push((patient_url, m));
        }
        if let Some(c) = mapped.coverage {
            entries.push((coverage_url, c));
        }
        return Ok(entries);
    }
    let Some(subscriber) = &e.subscriber else {
        return Err(MappingError::invalid(
            "x12",
            "the 270 names no subscriber (2000C)",
        ));
    };
    let patient_member = e.patient().unwrap_or(subscriber);
    entries.push((patient_url.clone(), patient(patient_member)));
    let subscriber_url = if e.dependent.is_some() {
        let url = seed("subscriber");
        entries.push((url.clone(), patient(subscriber)));
        url
    } else {
        patient_url.clone()
    };
    let mut coverage = json!({
        "resourceType": "Coverage",
        "status": "active",
        "subscriber": reference(&subscriber_url),
        "subscriberId": subscriber.name.id,
        "beneficiary": reference(&patient_url),
        "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": match patient_member.relationship.as_ref().map(|r| r.relationship.as_str()) {
                Some("01") => "spouse", Some("19") => "child", Some("34") => "other", _ => "self" }}]},
        "payor": [reference(&payer_url)],
    });
    let classes: Vec<Value> = subscriber
        .name
        .references
        .iter()
        .filter_map(|(q, v)| {
            let kind = match q.as_str() {
                "6P" | "1L" => "group",
                "18" => "plan",
                _ => return None,
            };
            Some(json!({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": kind}]}, "value": v}))
        })
        .collect();
    if !classes.is_empty() {
        coverage["class"] = json!(classes);
    }
    entries.push((coverage_url.clone(), coverage));
    let mut request = json!({"resourceType": "CoverageEligibilityRequest"});
    if let Some(t) = patient_member.trace("1") {
        request["identifier"] = json!([{"system": format!("{TRACE_SYSTEM_PREFIX}{}", t.originator), "value": t.number}]);
    }
    request["status"] = json!("active");
    request["purpose"] = json!(["validation", "benefits"]);
    request["patient"] = reference(&patient_url);
    if let Some(d) = patient_member.dates.iter().find(|d| d.qualifier == "291") {
        match (x12_to_date(d.start()), x12_to_date(d.end())) {
            (Some(s), Some(end)) if d.format == "RD8" => {
                request["servicedPeriod"] = json!({"start": s, "end": end})
            }
            (Some(s), _) => request["servicedDate"] = json!(s),
            _ => {}
        }
    }
    request["created"] = json!(x12_to_date(&e.date).unwrap_or_default());
    if e.receiver.is_some() {
        request["provider"] = reference(&provider_url);
    }
    request["insurer"] = reference(&payer_url);
    request["insurance"] = json!([{"focal": true, "coverage": reference(&coverage_url)}]);
    let items: Vec<Value> = patient_member
        .inquiries
        .iter()
        .flat_map(|q| {
            let procedure = q.procedure.as_ref().map(|(_, code)| {
                let system = if code.starts_with(|c: char| c.is_ascii_digit()) {
                    super::fhir::CPT_SYSTEM
                } else {
                    super::fhir::HCPCS_SYSTEM
                };
                json!({"coding": [{"system": system, "code": code}]})
            });
            let mut list: Vec<Value> = q
                .service_types
                .iter()
                .map(|s| json!({"category": {"coding": [SERVICE_TYPE.coding(s)]}}))
                .collect();
            if list.is_empty() {
                list.push(json!({}));
            }
            for item in &mut list {
                if let Some(p) = &procedure {
                    item["productOrService"] = p.clone();
                }
            }
            list
        })
        .collect();
    if !items.is_empty() {
        request["item"] = json!(items);
    }
    entries.insert(0, (seed("request"), request));
    Ok(entries)
}

/// The payer (2100A) as an Organization.
pub fn organization(e: &Entity, insurer: bool) -> Value {
    let mut o = json!({"resourceType": "Organization"});
    if !e.id.is_empty() {
        o["identifier"] = json!([match e.id_qualifier.as_str() {
            "XX" => json!({"system": NPI_SYSTEM, "value": e.id}),
            _ if insurer => typed_identifier("NIIP", &e.id),
            _ => json!({"value": e.id}),
        }]);
    }
    if insurer {
        o["type"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "ins"}]}]);
    }
    o["name"] = json!(e.last_or_org);
    if let Some(a) = &e.address {
        o["address"] = json!([fhir_address(a)]);
    }
    o
}

/// The receiver (2100B) as a Practitioner (NM102 `1`) or Organization.
pub fn provider(e: &Entity) -> Value {
    if !e.person {
        return organization(e, false);
    }
    let mut p = json!({"resourceType": "Practitioner"});
    if !e.id.is_empty() {
        p["identifier"] = json!([if e.id_qualifier == "XX" {
            json!({"system": NPI_SYSTEM, "value": e.id})
        } else {
            json!({"value": e.id})
        }]);
    }
    p["name"] = json!([human_name(&e.last_or_org, &e.first, &e.middle, &e.suffix)]);
    p
}

fn patient(m: &Member) -> Value {
    let n = &m.name;
    let mut p = json!({"resourceType": "Patient"});
    if !n.id.is_empty() {
        p["identifier"] = json!([typed_identifier("MB", &n.id)]);
    }
    p["name"] = json!([human_name(&n.last_or_org, &n.first, &n.middle, &n.suffix)]);
    if let Some(g) = x12_to_gender(&m.gender) {
        p["gender"] = json!(g);
    }
    if let Some(b) = x12_to_date(&m.birth_date) {
        p["birthDate"] = json!(b);
    }
    if let Some(a) = &n.address {
        p["address"] = json!([fhir_address(a)]);
    }
    p
}
