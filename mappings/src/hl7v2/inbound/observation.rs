//! ORU^R01 (and ORM/OML OBX) → Observations (HL7 v2.5.1 ch. 7 §7.4.2 OBX; v2-to-FHIR IG
//! "OBX[Observation]").
//!
//! | OBX | Observation |
//! |---|---|
//! | 2 value type + 5 value | `valueQuantity` (NM), `valueString` (ST/TX/FT), `valueCodeableConcept` (CE/CWE/CNE), `valueQuantity` with comparator / `valueRange` / `valueRatio` (SN), `valueDateTime` (DT/DTM/TS) |
//! | 3 | `code` |
//! | 6 | the quantity's unit → UCUM ([`crate::hl7v2::units`]) |
//! | 7 | `referenceRange` (`low`/`high` when numeric, `text` always) |
//! | 8 (table 0078) | `interpretation` (v3 ObservationInterpretation, else v2-0078) |
//! | 11 (table 0085) | `status` |
//! | 14, else OBR-7 | `effectiveDateTime` |
//!
//! ORU observations get category `laboratory`. A repeated OBX-5 keeps its first value
//! (text types join the repetitions with a line break) and warns.

use serde_json::{Map, Value, json};

use super::datatypes::cwe;
use super::encounter::pv1_to_encounter;
use super::{In, mapped, patient_of, put};
use crate::MappingError;
use crate::hl7v2::MappedResource;
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::message::{Message, Piece, Segment};
use crate::hl7v2::units::{decimal, quantity};

/// ORU/ORM → `[Observation*, Patient?, Encounter?]`.
pub fn oru(msg: &Message, st: &mut In<'_>) -> Result<Vec<MappedResource>, MappingError> {
    let patient = patient_of(msg, st);
    let purl = patient.as_ref().map(|(_, u)| u.clone());
    let encounter = msg.segment("PV1").map(|pv1| {
        let url = st.next_full_url();
        let e = pv1_to_encounter(
            pv1,
            msg.segment("PV2"),
            "",
            purl.as_deref().unwrap_or_default(),
            st,
        );
        (url, e)
    });
    let category = (msg.message_code() == "ORU").then_some("laboratory");
    let mut out = Vec::new();
    let mut obr = None;
    for seg in msg.segments() {
        match seg.id() {
            "OBR" => obr = Some(seg),
            "OBX" => {
                let mut o = obx_to_observation(seg, obr, purl.as_deref(), category, st);
                if let Some((url, _)) = &encounter {
                    o["encounter"] = json!({"reference": url});
                }
                out.push(mapped(st.next_full_url(), o));
            }
            _ => {}
        }
    }
    if out.is_empty() && msg.message_code() == "ORU" {
        return Err(MappingError::invalid("hl7v2", "ORU without OBX segments"));
    }
    out.extend(patient.map(|(p, _)| p));
    if let Some((url, mut e)) = encounter {
        if purl.is_none()
            && let Some(o) = e.as_object_mut()
        {
            o.remove("subject");
        }
        out.push(mapped(url, e));
    }
    Ok(out)
}

/// One OBX (with its OBR, if any) → Observation.
pub fn obx_to_observation(
    obx: &Segment,
    obr: Option<&Segment>,
    patient_url: Option<&str>,
    category: Option<&str>,
    st: &mut In<'_>,
) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Observation"));
    let status = obx
        .field(11)
        .text()
        .and_then(|c| lookup(codes::RESULT_STATUS, &c))
        .unwrap_or("unknown");
    o.insert("status".into(), json!(status));
    if let Some(c) = category {
        o.insert(
            "category".into(),
            json!([{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": c
            }]}]),
        );
    }
    let code = cwe(obx.field(3)).unwrap_or_else(|| {
        st.warn("OBX-3 (observation identifier) is empty: code text 'unknown'");
        json!({"text": "unknown"})
    });
    o.insert("code".into(), code);
    if let Some(p) = patient_url {
        o.insert("subject".into(), json!({"reference": p}));
    }
    let effective = st
        .date_time(obx.field(14), "OBX-14")
        .or_else(|| obr.and_then(|r| st.date_time(r.field(7), "OBR-7")));
    put(&mut o, "effectiveDateTime", json!(effective));
    let unit = obx.field(6);
    let unit = (unit.component(1), unit.component(2), unit.component(3));
    value(obx, unit, st, &mut o);
    let interpretation: Vec<Value> = obx
        .field(8)
        .repetitions()
        .filter_map(|r| {
            let code = r.component(1).text()?;
            let system = if codes::INTERPRETATION_V3.contains(&code.as_str()) {
                codes::INTERPRETATION.to_owned()
            } else {
                codes::v2_table("0078")
            };
            Some(json!({"coding": [{"system": system, "code": code}]}))
        })
        .collect();
    put(&mut o, "interpretation", json!(interpretation));
    if let Some(range) = obx.field(7).full_text() {
        let mut r = Map::new();
        let mut unknown = Vec::new();
        let (low, high) = parse_range(&range);
        let u = (unit.0.text(), unit.1.text(), unit.2.text());
        let q = |v: Option<String>, unknown: &mut Vec<String>| {
            v.and_then(|v| {
                quantity(
                    &v,
                    (u.0.as_deref(), u.1.as_deref(), u.2.as_deref()),
                    unknown,
                )
            })
        };
        put(&mut r, "low", json!(q(low, &mut unknown)));
        put(&mut r, "high", json!(q(high, &mut unknown)));
        r.insert("text".into(), json!(range));
        o.insert("referenceRange".into(), json!([r]));
    }
    Value::Object(o)
}

type Unit<'a> = (Piece<'a>, Piece<'a>, Piece<'a>);

fn value(obx: &Segment, unit: Unit<'_>, st: &mut In<'_>, o: &mut Map<String, Value>) {
    let kind = obx.field(2).text().unwrap_or_default();
    let reps: Vec<Piece<'_>> = obx
        .field(5)
        .repetitions()
        .filter(|r| !r.is_empty())
        .collect();
    let Some(first) = reps.first().copied() else {
        return;
    };
    let text_kind = matches!(kind.as_str(), "ST" | "TX" | "FT");
    if reps.len() > 1 && !text_kind {
        st.warn(format!(
            "OBX-5 of type {kind} repeats: the first value is kept"
        ));
    }
    let u = (unit.0.text(), unit.1.text(), unit.2.text());
    let u = (u.0.as_deref(), u.1.as_deref(), u.2.as_deref());
    let mut unknown = Vec::new();
    match kind.as_str() {
        "NM" => match first.text().and_then(|t| decimal(&t)) {
            Some(v) => put(o, "valueQuantity", json!(quantity(&v, u, &mut unknown))),
            None => {
                st.warn("OBX-5 of type NM is not a number: kept as valueString");
                put(o, "valueString", json!(first.full_text()));
            }
        },
        "SN" => sn(first, u, st, o, &mut unknown),
        "CE" | "CWE" | "CNE" | "CF" => put(o, "valueCodeableConcept", json!(cwe(first))),
        "DT" | "DTM" | "TS" => {
            let t = st.date_time(first, "OBX-5");
            put(o, "valueDateTime", json!(t));
        }
        _ if text_kind => {
            let lines: Vec<String> = reps.iter().filter_map(|r| r.full_text()).collect();
            put(o, "valueString", json!(lines.join("\n")));
        }
        other => {
            st.warn(format!(
                "OBX value type {other} is not mapped: value left out"
            ));
        }
    }
    for u in unknown {
        st.unknown_unit(u);
    }
}

/// SN (comparator ^ num1 ^ separator ^ num2) → quantity with comparator, range or ratio.
fn sn(
    p: Piece<'_>,
    u: (Option<&str>, Option<&str>, Option<&str>),
    st: &mut In<'_>,
    o: &mut Map<String, Value>,
    unknown: &mut Vec<String>,
) {
    let comparator = p.component(1).text();
    let n1 = p.component(2).text().and_then(|t| decimal(&t));
    let sep = p.component(3).text();
    let n2 = p.component(4).text().and_then(|t| decimal(&t));
    match (sep.as_deref(), n1, n2) {
        (Some("-"), Some(a), Some(b)) => {
            let r = json!({"low": quantity(&a, u, unknown), "high": quantity(&b, u, unknown)});
            o.insert("valueRange".into(), r);
        }
        (Some(":" | "/"), Some(a), Some(b)) => {
            let r = json!({"numerator": {"value": crate::wearables::units::number(&a)},
                           "denominator": {"value": crate::wearables::units::number(&b)}});
            o.insert("valueRatio".into(), r);
        }
        (_, Some(a), None) => {
            let Some(mut q) = quantity(&a, u, unknown) else {
                return;
            };
            match comparator.as_deref() {
                Some(c @ ("<" | "<=" | ">=" | ">")) => q["comparator"] = json!(c),
                None | Some("=") => {}
                Some(_) => {
                    st.warn("OBX-5 SN comparator is not <, <=, >=, >: kept as valueString");
                    put(o, "valueString", json!(p.full_text()));
                    return;
                }
            }
            o.insert("valueQuantity".into(), q);
        }
        _ => {
            st.warn("OBX-5 SN is not a number, range or ratio: kept as valueString");
            put(o, "valueString", json!(p.full_text()));
        }
    }
}

/// `low-high`, `<x`, `<=x`, `>x`, `>=x` (a trailing unit after a space is ignored).
fn parse_range(text: &str) -> (Option<String>, Option<String>) {
    let t = text.split_whitespace().next().unwrap_or("");
    if let Some(x) = t.strip_prefix("<=").or_else(|| t.strip_prefix('<')) {
        return (None, decimal(x));
    }
    if let Some(x) = t.strip_prefix(">=").or_else(|| t.strip_prefix('>')) {
        return (decimal(x), None);
    }
    let split = t
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '-')
        .map(|(i, _)| (&t[..i], &t[i + 1..]));
    match split {
        Some((a, b)) => match (decimal(a), decimal(b)) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => (None, None),
        },
        None => (None, None),
    }
}
