//! SIU (S12–S26) → Appointment (+ Patient, Observations) (HL7 v2.5.1 ch. 10 §10.6 SCH, TQ1,
//! AIS/AIG/AIL/AIP; v2-to-FHIR IG "SCH[Appointment]").
//!
//! | v2 | Appointment |
//! |---|---|
//! | SCH-1 / SCH-2 (EI) | `identifier` typed PLAC / FILL |
//! | SCH-25 (table 0278), else trigger (S15 cancelled, S26 noshow, S17 entered-in-error) | `status` |
//! | SCH-6 | `cancelationReason` (S15), else `reasonCode` |
//! | SCH-7 (table 0276) | `appointmentType` |
//! | AIS-3 | `serviceType` |
//! | TQ1-7/8, else SCH-11.4/.5, else AIx start (+ duration) | `start`, `end` (instants) |
//! | SCH-9/10, else end − start | `minutesDuration` |
//! | NTE after SCH | `comment` |
//! | PID | participant Patient |
//! | AIP-3 (+ AIP-4 type) | participant Practitioner (logical reference) |
//! | AIL-3 (+ AIL-4) | participant Location (display) |
//! | AIG-3 (+ AIG-4) | participant resource (identifier + display) |
//! | PV1-18 marker + OBX `VS-*` | extension `Appointment.virtualService` |

use serde_json::{Map, Value, json};

use super::datatypes::{cwe, cwe_in, ei, xcn};
use super::encounter::is_virtual;
use super::observation::obx_to_observation;
use super::{In, mapped, patient_of, put};
use crate::MappingError;
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::message::{Message, Piece, Segment};
use crate::hl7v2::{MappedResource, VIRTUAL_SERVICE};

/// Local OBX-3 codes that carry `Appointment.virtualService` in SIU.
pub const VS_CODES: &[(&str, &str)] = &[
    ("VS-CHANNEL", "channelType"),
    ("VS-ADDRESS", "address"),
    ("VS-INFO", "additionalInfo"),
    ("VS-SESSION-KEY", "sessionKey"),
];

/// The FHIR R5 virtual-service-type code system.
pub const VIRTUAL_SERVICE_TYPE: &str = "http://hl7.org/fhir/virtual-service-type";

/// SIU → `[Appointment, Patient?, Observation*]`.
pub fn siu(msg: &Message, st: &mut In<'_>) -> Result<Vec<MappedResource>, MappingError> {
    let Some(sch) = msg.segment("SCH") else {
        return Err(MappingError::invalid("hl7v2", "SIU without an SCH segment"));
    };
    let url = st.next_full_url();
    let patient = patient_of(msg, st);
    let mut a = Map::new();
    a.insert("resourceType".into(), json!("Appointment"));
    let ids: Vec<Value> = [(1, "PLAC"), (2, "FILL")]
        .iter()
        .filter_map(|(f, t)| ei(sch.field(*f), st, t))
        .collect();
    put(&mut a, "identifier", json!(ids));
    let event = msg.trigger_event();
    a.insert("status".into(), json!(status(sch, &event, st)));
    if let Some(r) = cwe(sch.field(6)) {
        let key = if event == "S15" {
            "cancelationReason"
        } else {
            "reasonCode"
        };
        a.insert(key.into(), if key == "reasonCode" { json!([r]) } else { r });
    }
    if let Some(t) = cwe_in(
        sch.field(7),
        &codes::v2_table("0276"),
        codes::APPOINTMENT_REASON,
    ) {
        a.insert("appointmentType".into(), t);
    }
    let services: Vec<Value> = segs(msg, "AIS").filter_map(|s| cwe(s.field(3))).collect();
    put(&mut a, "serviceType", json!(services));
    times(msg, sch, st, &mut a);
    let comment: Vec<String> = sch_notes(msg)
        .filter_map(|n| n.field(3).full_text())
        .collect();
    if !comment.is_empty() {
        a.insert("comment".into(), json!(comment.join("\n")));
    }
    let mut participants = Vec::new();
    if let Some((_, purl)) = &patient {
        participants.push(json!({"actor": {"reference": purl}, "status": "accepted"}));
    }
    participants.extend(resources(msg, st));
    a.insert("participant".into(), json!(participants));
    let mut out = Vec::new();
    let mut observations = Vec::new();
    let mut vs = Vec::new();
    for obx in segs(msg, "OBX") {
        let code = obx.text(3, 1).unwrap_or_default();
        match lookup(VS_CODES, &code) {
            Some(name) => vs.extend(virtual_part(name, obx.field(5))),
            None => {
                let purl = patient.as_ref().map(|(_, u)| u.as_str());
                let o = obx_to_observation(obx, None, purl, None, st);
                observations.push(mapped(st.next_full_url(), o));
            }
        }
    }
    let virtual_visit = msg.segment("PV1").is_some_and(|p| is_virtual(p, st));
    if !vs.is_empty() {
        a.insert(
            "extension".into(),
            json!([{"url": VIRTUAL_SERVICE, "extension": vs}]),
        );
    } else if virtual_visit {
        st.warn("PV1 marks a virtual visit but no VS-* OBX carries its details: no virtualService extension");
    }
    out.push(mapped(url, Value::Object(a)));
    out.extend(patient.map(|(p, _)| p));
    out.extend(observations);
    Ok(out)
}

fn segs<'m>(msg: &'m Message, id: &'m str) -> impl Iterator<Item = &'m Segment> {
    msg.segments().iter().filter(move |s| s.id() == id)
}

/// The NTE segments of the SCH group: after SCH and its TQ1s (SIU_S12, v2.5.1 §10.4).
fn sch_notes(msg: &Message) -> impl Iterator<Item = &Segment> {
    let start = msg
        .segments()
        .iter()
        .position(|s| s.id() == "SCH")
        .map_or(usize::MAX, |i| i + 1);
    msg.segments()
        .iter()
        .skip(start)
        .skip_while(|s| s.id() == "TQ1")
        .take_while(|s| s.id() == "NTE")
}

/// SCH-25, else the trigger's status; `booked` (recorded as defaulted: an update without
/// SCH-25 keeps the stored status) otherwise.
fn status(sch: &Segment, event: &str, st: &mut In<'_>) -> &'static str {
    if let Some(s) = sch
        .field(25)
        .text()
        .and_then(|c| lookup(codes::FILLER_STATUS, &c))
    {
        return s;
    }
    match event {
        "S15" => "cancelled",
        "S26" => "noshow",
        "S17" => "entered-in-error",
        _ => {
            st.defaulted("Appointment.status");
            "booked"
        }
    }
}

fn times(msg: &Message, sch: &Segment, st: &mut In<'_>, a: &mut Map<String, Value>) {
    let tq1 = msg.segment("TQ1");
    let tq = sch.field(11);
    let first_ai = ["AIS", "AIG", "AIL", "AIP"].iter().find_map(|id| {
        let s = msg.segment(id)?;
        let f = match *id {
            "AIS" => 4,
            "AIG" => 8,
            _ => 6,
        };
        (!s.field(f).is_empty()).then_some((s, f))
    });
    let (start_p, end_p): (Option<Piece<'_>>, Option<Piece<'_>>) =
        match (tq1, !tq.component(4).is_empty()) {
            (Some(t), _) if !t.field(7).is_empty() => (Some(t.field(7)), Some(t.field(8))),
            (_, true) => (Some(tq.component(4)), Some(tq.component(5))),
            _ => (first_ai.map(|(s, f)| s.field(f)), None),
        };
    let start = start_p.and_then(|p| st.instant(p, "appointment start"));
    let end = end_p.and_then(|p| st.instant(p, "appointment end"));
    let minutes = match (&start, &end) {
        (Some(s), Some(e)) => crate::wearables::time::seconds_between(s, e)
            .ok()
            .map(|secs| (secs / 60.0).round() as i64),
        _ => duration_minutes(sch.field(9), sch.field(10)).or_else(|| {
            first_ai.and_then(|(s, f)| duration_minutes(s.field(f + 3), s.field(f + 4)))
        }),
    };
    let end = end.or_else(|| {
        let s = start.as_deref()?;
        let m = minutes?;
        crate::wearables::time::add_seconds(s, (m * 60) as f64).ok()
    });
    put(a, "start", json!(start));
    put(a, "end", json!(end));
    if let Some(m) = minutes.filter(|m| *m > 0) {
        a.insert("minutesDuration".into(), json!(m));
    }
}

/// Duration `value` in `units` (CE: `min`, `m`, `s`, `h`, `d` …) → whole minutes.
fn duration_minutes(value: Piece<'_>, units: Piece<'_>) -> Option<i64> {
    let v: f64 = value.text()?.parse().ok()?;
    let factor = match units
        .component(1)
        .text()
        .as_deref()
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("s" | "sec" | "second" | "seconds") => 1.0 / 60.0,
        Some("h" | "hr" | "hour" | "hours") => 60.0,
        Some("d" | "day" | "days") => 1440.0,
        _ => 1.0,
    };
    let m = (v * factor).round();
    (1.0..1e9).contains(&m).then_some(m as i64)
}

fn resources(msg: &Message, st: &mut In<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for seg in msg.segments() {
        let (actor, kind, status_field) = match seg.id() {
            "AIP" => (xcn(seg.field(3), st, "Practitioner"), seg.field(4), 12),
            "AIL" => (location(seg.field(3)), seg.field(4), 12),
            "AIG" => (general(seg.field(3)), seg.field(4), 14),
            _ => continue,
        };
        let Some(actor) = actor else { continue };
        let mut p = Map::new();
        if let Some(t) = cwe(kind) {
            p.insert("type".into(), json!([t]));
        }
        p.insert("actor".into(), actor);
        let deleted = seg.field(2).text().as_deref() == Some("D");
        let status = match seg.field(status_field).text().as_deref() {
            _ if deleted => "declined",
            Some("Cancelled" | "Deleted" | "Dc" | "Noshow") => "declined",
            Some("Pending" | "Waitlist") => "tentative",
            _ => "accepted",
        };
        p.insert("status".into(), json!(status));
        out.push(Value::Object(p));
    }
    out
}

/// PL → a Location reference with a display: PL-9 description, else the parts joined.
fn location(pl: Piece<'_>) -> Option<Value> {
    let display = pl.component(9).text().or_else(|| {
        let parts: Vec<String> = [1, 2, 3, 4]
            .iter()
            .filter_map(|c| pl.component(*c).text())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })?;
    Some(json!({"type": "Location", "display": display}))
}

/// AIG-3 resource id (CE) → a reference with identifier and display.
fn general(ce: Piece<'_>) -> Option<Value> {
    let mut o = Map::new();
    if let Some(id) = ce.component(1).text() {
        o.insert("identifier".into(), json!({"value": id}));
    }
    if let Some(d) = ce.component(2).text() {
        o.insert("display".into(), json!(d));
    }
    (!o.is_empty()).then_some(Value::Object(o))
}

/// One `VS-*` OBX → a sub-extension of `Appointment.virtualService`.
fn virtual_part(name: &str, value: Piece<'_>) -> Option<Value> {
    // The whole first repetition: a URL sent with an unescaped `&` stays whole.
    let text = value.repetitions().next()?.full_text()?;
    Some(match name {
        "channelType" => {
            let (system, code) = match text.split_once(' ') {
                Some((s, c)) => (s.to_owned(), c.to_owned()),
                None => (VIRTUAL_SERVICE_TYPE.to_owned(), text),
            };
            json!({"url": name, "valueCoding": {"system": system, "code": code}})
        }
        "sessionKey" => json!({"url": name, "valueString": text}),
        _ => json!({"url": name, "valueUrl": text}),
    })
}
