//! SCRIPT parties and drug → FHIR Patient, Practitioner, Organization (pharmacy), Coverage
//! and Medication.

use serde_json::{Map, Value, json};

use super::super::codes::{
    NCI, NCPDP_ID, NDC, NPI, RXNORM, dea_schedule_of_nci, gender_to_fhir, unit_by_nci,
};
use super::super::controlled::DEA_SCHEDULE_EXTENSION;
use super::super::fhir::DEA_SYSTEMS;
use super::super::model::*;
use super::super::number::decimal;

fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), v);
    }
}

fn s(v: &Option<String>) -> Option<Value> {
    v.as_ref().map(|s| Value::String(s.clone()))
}

/// FHIR HumanName for a SCRIPT `Name` (`None` when empty).
pub fn human_name(n: &Name) -> Option<Value> {
    let mut m = Map::new();
    put(&mut m, "family", s(&n.last));
    let given: Vec<Value> = [&n.first, &n.middle]
        .into_iter()
        .flatten()
        .map(|g| g.as_str().into())
        .collect();
    if !given.is_empty() {
        m.insert("given".into(), Value::Array(given));
    }
    put(&mut m, "prefix", n.prefix.as_ref().map(|p| json!([p])));
    put(&mut m, "suffix", n.suffix.as_ref().map(|p| json!([p])));
    (!m.is_empty()).then(|| Value::Object(m))
}

fn address(a: &Option<Address>, use_: &str) -> Option<Value> {
    let a = a.as_ref()?;
    let mut m = Map::new();
    m.insert("use".into(), use_.into());
    if !a.lines.is_empty() {
        m.insert("line".into(), json!(a.lines));
    }
    put(&mut m, "city", s(&a.city));
    put(&mut m, "state", s(&a.state));
    put(&mut m, "postalCode", s(&a.postal_code));
    put(&mut m, "country", s(&a.country));
    Some(json!([m]))
}

fn telecom(c: &Communication, use_: &str) -> Option<Value> {
    let mut out = Vec::new();
    for (system, v) in [("phone", &c.phone), ("fax", &c.fax), ("email", &c.email)] {
        if let Some(v) = v {
            out.push(json!({"system": system, "value": v, "use": use_}));
        }
    }
    (!out.is_empty()).then(|| Value::Array(out))
}

fn identifiers(pairs: &[(&str, &Option<String>)]) -> Option<Value> {
    let out: Vec<Value> = pairs
        .iter()
        .filter_map(|(system, v)| v.as_ref().map(|v| json!({"system": system, "value": v})))
        .collect();
    (!out.is_empty()).then(|| Value::Array(out))
}

/// Patient from `HumanPatient`.
pub fn patient(id: &str, p: &PatientData) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), "Patient".into());
    m.insert("id".into(), id.into());
    if let Some(mrn) = &p.medical_record_number {
        m.insert(
            "identifier".into(),
            json!([{
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "value": mrn
            }]),
        );
    }
    put(&mut m, "name", human_name(&p.name).map(|n| json!([n])));
    put(&mut m, "telecom", telecom(&p.communication, "home"));
    put(
        &mut m,
        "gender",
        p.gender.as_deref().map(|g| gender_to_fhir(g).into()),
    );
    put(&mut m, "birthDate", s(&p.birth_date));
    put(&mut m, "address", address(&p.address, "home"));
    Value::Object(m)
}

/// Practitioner from `Prescriber/NonVeterinarian` (NPI, DEA number).
pub fn practitioner(id: &str, p: &PrescriberData) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), "Practitioner".into());
    m.insert("id".into(), id.into());
    put(
        &mut m,
        "identifier",
        identifiers(&[(NPI, &p.npi), (DEA_SYSTEMS[0], &p.dea_number)]),
    );
    put(&mut m, "name", human_name(&p.name).map(|n| json!([n])));
    put(&mut m, "telecom", telecom(&p.communication, "work"));
    put(&mut m, "address", address(&p.address, "work"));
    Value::Object(m)
}

/// Pharmacy Organization from `Pharmacy` (NCPDP ID, NPI).
pub fn pharmacy(id: &str, p: &PharmacyData) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), "Organization".into());
    m.insert("id".into(), id.into());
    put(
        &mut m,
        "identifier",
        identifiers(&[(NCPDP_ID, &p.ncpdp_id), (NPI, &p.npi)]),
    );
    m.insert("active".into(), true.into());
    m.insert(
        "type".into(),
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}], "text": "Pharmacy"}]),
    );
    put(&mut m, "name", s(&p.business_name));
    put(&mut m, "telecom", telecom(&p.communication, "work"));
    put(&mut m, "address", address(&p.address, "work"));
    Value::Object(m)
}

/// Coverage from `BenefitsCoordination` (`CardholderID` → `subscriberId`, `GroupID` → class
/// `group`, payer → `payor` by identifier and display).
pub fn coverage(id: &str, b: &BenefitsCoordination, beneficiary: &str) -> Value {
    let mut payor = Map::new();
    put(
        &mut payor,
        "identifier",
        b.payer_id.as_ref().map(|v| json!({"value": v})),
    );
    payor.insert(
        "display".into(),
        b.payer_name
            .clone()
            .unwrap_or_else(|| "pharmacy benefit payer".to_owned())
            .into(),
    );
    let mut m = Map::new();
    m.insert("resourceType".into(), "Coverage".into());
    m.insert("id".into(), id.into());
    m.insert("status".into(), "active".into());
    put(&mut m, "subscriberId", s(&b.cardholder_id));
    m.insert("beneficiary".into(), json!({"reference": beneficiary}));
    m.insert("payor".into(), json!([payor]));
    if let Some(g) = &b.group_id {
        m.insert(
            "class".into(),
            json!([{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]}, "value": g}]),
        );
    }
    Value::Object(m)
}

/// The drug as a CodeableConcept: RxNorm (`DrugDBCode`) and NDC (`ProductCode` `ND`)
/// codings with `DrugDescription` as display and text.
pub fn drug_concept(m: &MedicationData) -> Value {
    let mut coding = Vec::new();
    let display = m.drug_description.as_deref();
    if let Some(c) = &m.drug_db_code {
        coding.push(json!({"system": RXNORM, "code": c.code, "display": display}));
    }
    if let Some(c) = m
        .product_code
        .as_ref()
        .filter(|c| matches!(c.qualifier.as_deref(), Some("ND") | None))
    {
        coding.push(json!({"system": NDC, "code": c.code, "display": display}));
    }
    for c in coding.iter_mut() {
        if display.is_none() {
            c.as_object_mut().map(|o| o.remove("display"));
        }
    }
    let mut out = Map::new();
    if !coding.is_empty() {
        out.insert("coding".into(), Value::Array(coding));
    }
    put(&mut out, "text", s(&m.drug_description));
    Value::Object(out)
}

/// Medication from `MedicationPrescribed`: `code` ([`drug_concept`]), `form`
/// (`StrengthForm`), strength as an ingredient ratio, and the
/// [`DEA_SCHEDULE_EXTENSION`] when `DEASchedule` names a schedule.
pub fn medication(id: &str, m: &MedicationData) -> Value {
    let mut out = Map::new();
    out.insert("resourceType".into(), "Medication".into());
    out.insert("id".into(), id.into());
    if let Some(schedule) = m.dea_schedule.as_deref().and_then(dea_schedule_of_nci) {
        out.insert(
            "extension".into(),
            json!([{"url": DEA_SCHEDULE_EXTENSION, "valueCode": schedule}]),
        );
    }
    out.insert("code".into(), drug_concept(m));
    if let Some(st) = &m.strength {
        if let Some(form) = &st.form_code {
            out.insert(
                "form".into(),
                json!({"coding": [{"system": NCI, "code": form}]}),
            );
        }
        if let Some(v) = st.value.as_deref().and_then(decimal) {
            let mut num = Map::new();
            num.insert("value".into(), v);
            if let Some(u) = &st.unit_code {
                if let Some(unit) = unit_by_nci(u) {
                    num.insert("unit".into(), unit.term.to_ascii_lowercase().into());
                }
                num.insert("system".into(), NCI.into());
                num.insert("code".into(), u.as_str().into());
            }
            out.insert(
                "ingredient".into(),
                json!([{
                    "itemCodeableConcept": {"text": m.drug_description.clone().unwrap_or_else(|| "active ingredient".to_owned())},
                    "strength": {"numerator": num, "denominator": {"value": 1}}
                }]),
            );
        }
    }
    Value::Object(out)
}
