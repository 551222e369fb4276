//! PID → Patient (HL7 v2.5.1 ch. 3 §3.4.2; v2-to-FHIR IG "PID[Patient]").
//!
//! | PID | Patient |
//! |---|---|
//! | 2, 3, 4 (CX) | `identifier` (authority → system, CX-5 → type) |
//! | 19 SSN | `identifier` (`http://hl7.org/fhir/sid/us-ssn`, type SS) |
//! | 5 (XPN) | `name` |
//! | 6 (XPN) | extension `patient-mothersMaidenName` |
//! | 7 | `birthDate` (+ extension `patient-birthTime` when the time is known) |
//! | 8 | `gender` (table 0001) |
//! | 11 (XAD) | `address` |
//! | 13, 14, 40 (XTN) | `telecom` (13 home, 14 work by default) |
//! | 16 | `maritalStatus` (v3-MaritalStatus, else v2-0002) |
//! | 24, 25 | `multipleBirthBoolean` / `multipleBirthInteger` |
//! | 29, 30 | `deceasedDateTime` / `deceasedBoolean` |

use serde_json::{Map, Value, json};

use super::datatypes::{US_SSN, cwe, cx, xad, xpn, xtn};
use super::{In, put};
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::message::Segment;

const BIRTH_TIME: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
const MOTHERS_MAIDEN: &str = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";

/// Maps one PID segment to a Patient.
pub fn pid_to_patient(pid: &Segment, st: &mut In<'_>) -> Value {
    let mut p = Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    let mut ids: Vec<Value> = [3, 2, 4]
        .iter()
        .flat_map(|f| pid.field(*f).repetitions())
        .filter_map(|r| cx(r, st))
        .collect();
    if let Some(ssn) = pid.field(19).text() {
        ids.push(json!({
            "type": {"coding": [{"system": codes::identifier_type_system(), "code": "SS"}]},
            "system": US_SSN, "value": ssn
        }));
    }
    ids.dedup();
    put(&mut p, "identifier", json!(ids));
    st.null_check(pid.field(3), "Patient.identifier");

    let names: Vec<Value> = pid
        .field(5)
        .repetitions()
        .filter_map(|r| xpn(r, st))
        .collect();
    put(&mut p, "name", json!(names));
    st.null_check(pid.field(5), "Patient.name");

    let telecom: Vec<Value> = [(13, Some("home")), (14, Some("work")), (40, None)]
        .iter()
        .flat_map(|(f, u)| pid.field(*f).repetitions().map(move |r| (r, *u)))
        .filter_map(|(r, u)| xtn(r, u))
        .collect();
    put(&mut p, "telecom", json!(telecom));
    if let Some(f) = [13, 14].into_iter().find(|f| pid.field(*f).is_null()) {
        st.null_check(pid.field(f), "Patient.telecom");
    }

    if let Some(g) = pid.field(8).text().and_then(|c| lookup(codes::SEX, &c)) {
        p.insert("gender".into(), json!(g));
    }
    st.null_check(pid.field(8), "Patient.gender");

    if let Some(d) = st.date(pid.field(7), "PID-7") {
        p.insert("birthDate".into(), json!(d));
        if let Some(t) = st.birth_time(pid.field(7)) {
            p.insert(
                "_birthDate".into(),
                json!({"extension": [{"url": BIRTH_TIME, "valueDateTime": t}]}),
            );
        }
    }
    st.null_check(pid.field(7), "Patient.birthDate");

    deceased(pid, st, &mut p);

    let addresses: Vec<Value> = pid.field(11).repetitions().filter_map(xad).collect();
    put(&mut p, "address", json!(addresses));
    st.null_check(pid.field(11), "Patient.address");

    if let Some(m) = marital(pid) {
        p.insert("maritalStatus".into(), m);
    }
    st.null_check(pid.field(16), "Patient.maritalStatus");

    match (pid.field(24).text().as_deref(), pid.field(25).text()) {
        (Some("N"), _) => {
            p.insert("multipleBirthBoolean".into(), json!(false));
        }
        (_, Some(order)) if order.parse::<u32>().is_ok_and(|n| n > 0) => {
            if let Ok(n) = order.parse::<u32>() {
                p.insert("multipleBirthInteger".into(), json!(n));
            }
        }
        (Some("Y"), _) => {
            p.insert("multipleBirthBoolean".into(), json!(true));
        }
        _ => {}
    }

    if let Some(mother) = pid.field(6).component(1).subcomponent(1).text() {
        p.insert(
            "extension".into(),
            json!([{"url": MOTHERS_MAIDEN, "valueString": mother}]),
        );
    }
    Value::Object(p)
}

fn deceased(pid: &Segment, st: &mut In<'_>, p: &mut Map<String, Value>) {
    if let Some(t) = st.date_time(pid.field(29), "PID-29") {
        p.insert("deceasedDateTime".into(), json!(t));
    } else {
        match pid.field(30).text().as_deref() {
            Some("Y") => {
                p.insert("deceasedBoolean".into(), json!(true));
            }
            Some("N") => {
                p.insert("deceasedBoolean".into(), json!(false));
            }
            _ => {}
        }
    }
    st.null_check(pid.field(29), "Patient.deceased");
}

fn marital(pid: &Segment) -> Option<Value> {
    let f = pid.field(16);
    let code = f.component(1).text()?;
    if codes::MARITAL_V3.contains(&code.as_str()) {
        let mut c = json!({"system": codes::MARITAL, "code": code});
        if let Some(d) = f.component(2).text() {
            c["display"] = json!(d);
        }
        return Some(json!({"coding": [c]}));
    }
    if codes::MARITAL_V2.contains(&code.as_str()) {
        return Some(json!({"coding": [{"system": codes::v2_table("0002"), "code": code}]}));
    }
    // Not a table 0002 code (e.g. "Married"): keep what was sent as text.
    cwe(f).map(|mut c| {
        if c.get("text").is_none() {
            c = json!({"text": code});
        }
        c
    })
}
