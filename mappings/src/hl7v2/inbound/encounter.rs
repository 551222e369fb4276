//! ADT (A01–A08) → Patient + Encounter; PV1/PV2 → Encounter (HL7 v2.5.1 ch. 3 §3.4.3 PV1,
//! §3.4.4 PV2; v2-to-FHIR IG "PV1[Encounter]").
//!
//! | v2 | Encounter |
//! |---|---|
//! | trigger, PV1-45 | `status`: A03 or a discharge time → `finished`, A11 → `cancelled`, else `in-progress` |
//! | PV1-2 (table 0004) + virtual marker | `class` (v3 ActCode: `O` → `AMB`; marker → `VR`; unknown → v2-0004) |
//! | PV1-19 (CX) | `identifier` (type VN) |
//! | PV1-7/8/9/17 (XCN) | `participant` ATND/REF/CON/ADM, logical Practitioner references |
//! | PV1-14 | `hospitalization.admitSource` |
//! | PV1-44, PV1-45 | `period.start`, `period.end` |
//! | PV2-3 | `reasonCode` |

use serde_json::{Map, Value, json};

use super::datatypes::{cwe, cx, xcn};
use super::{In, mapped, patient_of, put};
use crate::MappingError;
use crate::hl7v2::MappedResource;
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::message::{Message, Segment};

/// ADT → `[Encounter, Patient]` (Encounter only when there is a PV1).
pub fn adt(msg: &Message, st: &mut In<'_>) -> Result<Vec<MappedResource>, MappingError> {
    let Some((patient, patient_url)) = patient_of(msg, st) else {
        return Err(MappingError::invalid("hl7v2", "ADT without a PID segment"));
    };
    let mut out = Vec::new();
    if let Some(pv1) = msg.segment("PV1") {
        let url = st.next_full_url();
        let enc = pv1_to_encounter(
            pv1,
            msg.segment("PV2"),
            &msg.trigger_event(),
            &patient_url,
            st,
        );
        out.push(mapped(url, enc));
    }
    out.push(patient);
    Ok(out)
}

/// `true` when PV1 carries the configured virtual marker.
pub fn is_virtual(pv1: &Segment, st: &In<'_>) -> bool {
    let m = &st.ctx.virtual_marker;
    pv1.field(m.field).text().as_deref() == Some(m.value.as_str())
}

/// PV1 (+ PV2) → Encounter for trigger `event`, subject `patient_url`.
pub fn pv1_to_encounter(
    pv1: &Segment,
    pv2: Option<&Segment>,
    event: &str,
    patient_url: &str,
    st: &mut In<'_>,
) -> Value {
    let mut e = Map::new();
    e.insert("resourceType".into(), json!("Encounter"));
    let ids: Vec<Value> = pv1
        .field(19)
        .repetitions()
        .filter_map(|r| cx(r, st))
        .map(|mut i| {
            if i.get("type").is_none() {
                i["type"] =
                    json!({"coding": [{"system": codes::identifier_type_system(), "code": "VN"}]});
            }
            i
        })
        .collect();
    put(&mut e, "identifier", json!(ids));
    let end = st.date_time(pv1.field(45), "PV1-45");
    let status = match event {
        "A03" => "finished",
        "A11" | "A27" => "cancelled",
        _ if end.is_some() => "finished",
        _ => {
            st.defaulted("Encounter.status");
            "in-progress"
        }
    };
    e.insert("status".into(), json!(status));
    let class = class(pv1, st);
    e.insert("class".into(), class);
    e.insert("subject".into(), json!({"reference": patient_url}));
    let participants: Vec<Value> = [(7, "ATND"), (8, "REF"), (9, "CON"), (17, "ADM")]
        .iter()
        .flat_map(|(f, code)| pv1.field(*f).repetitions().map(move |r| (r, *code)))
        .filter_map(|(r, code)| {
            let individual = xcn(r, st, "Practitioner")?;
            Some(json!({
                "type": [{"coding": [{"system": codes::V3_PARTICIPATION, "code": code}]}],
                "individual": individual
            }))
        })
        .collect();
    put(&mut e, "participant", json!(participants));
    let mut period = Map::new();
    put(
        &mut period,
        "start",
        json!(st.date_time(pv1.field(44), "PV1-44")),
    );
    put(&mut period, "end", json!(end));
    put(&mut e, "period", Value::Object(period));
    st.null_check(pv1.field(45), "Encounter.period.end");
    if let Some(reason) = pv2.and_then(|p| cwe(p.field(3))) {
        e.insert("reasonCode".into(), json!([reason]));
    }
    if let Some(src) = cwe(pv1.field(14)) {
        e.insert("hospitalization".into(), json!({"admitSource": src}));
    }
    Value::Object(e)
}

fn class(pv1: &Segment, st: &mut In<'_>) -> Value {
    let code = pv1.field(2).text();
    if is_virtual(pv1, st) {
        return json!({"system": codes::ACT_CODE, "code": "VR", "display": "virtual"});
    }
    match code.as_deref() {
        Some(c) => match lookup(codes::PATIENT_CLASS, c) {
            Some(act) => json!({"system": codes::ACT_CODE, "code": act}),
            None => json!({"system": codes::v2_table("0004"), "code": c}),
        },
        None => {
            st.defaulted("Encounter.class");
            json!({
                "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
                "code": "UNK"
            })
        }
    }
}
