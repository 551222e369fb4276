//! RDE^O11 → MedicationRequest per order group (ORC … up to the next ORC), plus Patient and
//! any OBX as Observations (HL7 v2.5.1 ch. 4 §4.14 RXE, §4.5.1 ORC, §4.14.2 RXR; v2-to-FHIR
//! IG "RXE[MedicationRequest]").
//!
//! | v2 | MedicationRequest |
//! |---|---|
//! | ORC-5 (table 0038), else ORC-1 (table 0119) | `status` (`intent` is `order`) |
//! | ORC-2 / ORC-3 (EI) | `identifier` typed PLAC / FILL |
//! | RXE-2, else RXO-1 | `medicationCodeableConcept` |
//! | ORC-9 | `authoredOn` |
//! | ORC-12, else RXE-13 (XCN) | `requester` (logical Practitioner reference) |
//! | RXE-3 (RXE-4) + RXE-5 | `dosageInstruction.doseAndRate.doseQuantity` (`doseRange`) |
//! | RXE-23 + RXE-24 | `dosageInstruction.doseAndRate.rateQuantity` |
//! | RXE-7 | `dosageInstruction.text` |
//! | RXR-1 | `dosageInstruction.route` |
//! | TQ1-3 | `dosageInstruction.timing.code` (v3 GTSAbbreviation) |
//! | RXE-10 + RXE-11, RXE-12 | `dispenseRequest.quantity`, `numberOfRepeatsAllowed` |

use serde_json::{Map, Value, json};

use super::datatypes::{cwe, ei, xcn};
use super::observation::obx_to_observation;
use super::{In, group, mapped, patient_of, put};
use crate::MappingError;
use crate::hl7v2::MappedResource;
use crate::hl7v2::message::{Message, Segment};
use crate::hl7v2::units::{decimal, quantity};

const GTS: &str = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation";
const GTS_CODES: &[&str] = &[
    "AM", "BID", "JB", "JE", "JH", "PM", "Q1H", "Q2H", "Q3H", "Q4H", "Q6H", "Q8H", "QD", "QHS",
    "QID", "QOD", "TID", "WK", "MO",
];

/// RDE → `[MedicationRequest+, Patient, Observation*]`.
pub fn rde(msg: &Message, st: &mut In<'_>) -> Result<Vec<MappedResource>, MappingError> {
    let Some((patient, purl)) = patient_of(msg, st) else {
        return Err(MappingError::invalid("hl7v2", "RDE without a PID segment"));
    };
    let segs = msg.segments();
    let mut requests = Vec::new();
    let mut observations = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        if seg.id() != "ORC" {
            continue;
        }
        let g = group(segs, i, &["ORC"]);
        if !g.iter().any(|s| matches!(s.id(), "RXE" | "RXO")) {
            continue;
        }
        requests.push(mapped(st.next_full_url(), order(g, &purl, st)));
        for obx in g.iter().filter(|s| s.id() == "OBX") {
            let o = obx_to_observation(obx, None, Some(&purl), None, st);
            observations.push(mapped(st.next_full_url(), o));
        }
    }
    if requests.is_empty() {
        return Err(MappingError::invalid(
            "hl7v2",
            "RDE without an ORC order group holding RXE or RXO",
        ));
    }
    requests.push(patient);
    requests.extend(observations);
    Ok(requests)
}

fn first<'g>(g: &'g [Segment], id: &str) -> Option<&'g Segment> {
    g.iter().find(|s| s.id() == id)
}

fn order(g: &[Segment], patient_url: &str, st: &mut In<'_>) -> Value {
    let orc = &g[0];
    let rxe = first(g, "RXE");
    let rxo = first(g, "RXO");
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("MedicationRequest"));
    let ids: Vec<Value> = [(2, "PLAC"), (3, "FILL")]
        .iter()
        .filter_map(|(f, t)| ei(orc.field(*f), st, t))
        .collect();
    put(&mut m, "identifier", json!(ids));
    m.insert("status".into(), json!(status(orc)));
    m.insert("intent".into(), json!("order"));
    let medication = rxe
        .and_then(|r| cwe(r.field(2)))
        .or_else(|| rxo.and_then(|r| cwe(r.field(1))))
        .unwrap_or_else(|| {
            st.warn("RXE-2/RXO-1 (give code) is empty: medication text 'unknown'");
            json!({"text": "unknown"})
        });
    m.insert("medicationCodeableConcept".into(), medication);
    m.insert("subject".into(), json!({"reference": patient_url}));
    put(
        &mut m,
        "authoredOn",
        json!(st.date_time(orc.field(9), "ORC-9")),
    );
    let requester = orc
        .field(12)
        .repetitions()
        .find_map(|r| xcn(r, st, "Practitioner"))
        .or_else(|| rxe.and_then(|r| xcn(r.field(13), st, "Practitioner")));
    put(&mut m, "requester", json!(requester));
    if let Some(rxe) = rxe {
        put(&mut m, "dosageInstruction", json!([dosage(g, rxe, st)]));
        put(&mut m, "dispenseRequest", dispense(rxe, st));
    }
    Value::Object(m)
}

/// ORC-5 order status (table 0038), else ORC-1 order control (table 0119).
fn status(orc: &Segment) -> &'static str {
    match orc.field(5).text().as_deref() {
        Some("CM") => return "completed",
        Some("CA") => return "cancelled",
        Some("DC") => return "stopped",
        Some("HD") => return "on-hold",
        Some("ER") => return "entered-in-error",
        Some("IP" | "SC" | "A") => return "active",
        _ => {}
    }
    match orc.field(1).text().as_deref() {
        Some("CA" | "OC" | "CR") => "cancelled",
        Some("DC" | "OD" | "DR") => "stopped",
        Some("HD" | "OH") => "on-hold",
        _ => "active",
    }
}

fn unit_of(
    p: crate::hl7v2::message::Piece<'_>,
) -> (Option<String>, Option<String>, Option<String>) {
    (
        p.component(1).text(),
        p.component(2).text(),
        p.component(3).text(),
    )
}

fn qty(
    value: Option<String>,
    unit: &(Option<String>, Option<String>, Option<String>),
    st: &mut In<'_>,
) -> Value {
    let Some(v) = value.and_then(|v| decimal(&v)) else {
        return Value::Null;
    };
    let mut unknown = Vec::new();
    let q = quantity(
        &v,
        (unit.0.as_deref(), unit.1.as_deref(), unit.2.as_deref()),
        &mut unknown,
    );
    for u in unknown {
        st.unknown_unit(u);
    }
    json!(q)
}

fn dosage(g: &[Segment], rxe: &Segment, st: &mut In<'_>) -> Value {
    let mut d = Map::new();
    let text: Vec<String> = rxe
        .field(7)
        .repetitions()
        .filter_map(|r| r.component(1).text().or_else(|| r.component(2).text()))
        .collect();
    if !text.is_empty() {
        d.insert("text".into(), json!(text.join(" ")));
    }
    if let Some(tq1) = first(g, "TQ1")
        && let Some(code) = tq1.text(3, 1)
    {
        let timing = if GTS_CODES.contains(&code.as_str()) {
            json!({"code": {"coding": [{"system": GTS, "code": code}]}})
        } else {
            json!({"code": {"text": code}})
        };
        d.insert("timing".into(), timing);
    }
    let rxe_pos = g.iter().position(|s| std::ptr::eq(s, rxe)).unwrap_or(0);
    let rxr = g[rxe_pos..]
        .iter()
        .find(|s| s.id() == "RXR")
        .or_else(|| first(g, "RXR"));
    if let Some(route) = rxr.and_then(|r| cwe(r.field(1))) {
        d.insert("route".into(), route);
    }
    let unit = unit_of(rxe.field(5));
    let mut dr = Map::new();
    let min = qty(rxe.field(3).text(), &unit, st);
    let max = qty(rxe.field(4).text(), &unit, st);
    if max.is_null() {
        put(&mut dr, "doseQuantity", min);
    } else {
        let mut range = Map::new();
        put(&mut range, "low", min);
        put(&mut range, "high", max);
        dr.insert("doseRange".into(), Value::Object(range));
    }
    let rate = qty(rxe.field(23).text(), &unit_of(rxe.field(24)), st);
    put(&mut dr, "rateQuantity", rate);
    if !dr.is_empty() {
        d.insert("doseAndRate".into(), json!([dr]));
    }
    Value::Object(d)
}

fn dispense(rxe: &Segment, st: &mut In<'_>) -> Value {
    let mut d = Map::new();
    put(
        &mut d,
        "quantity",
        qty(rxe.field(10).text(), &unit_of(rxe.field(11)), st),
    );
    if let Some(n) = rxe.field(12).text().and_then(|t| t.parse::<u32>().ok()) {
        d.insert("numberOfRepeatsAllowed".into(), json!(n));
    }
    Value::Object(d)
}
