//! Appointment → SIU (HL7 v2.5.1 ch. 10 §10.4; message structure `SIU_S12` for every event):
//! MSH, SCH, TQ1 (v2.5+), NTE, PID, PV1 + OBX for a virtual visit, RGS, AIS, AIG, AIL, AIP
//! (the reverse of [`crate::hl7v2::inbound::appointment`]).
//!
//! - Event: `booked` → S12, `cancelled` → S15, `noshow` → S26, or the explicit one of S12
//!   (new), S13 (reschedule), S14 (modify), S15 (cancel), S26 (no-show).
//! - SCH-1 placer id: the identifier typed PLAC, else the first untyped one, else the FHIR
//!   id with the configured authority; SCH-2: the identifier typed FILL.
//! - SCH-6 event reason (required): `cancelationReason` for S15, else `reasonCode[0]`, else
//!   the event code. SCH-7: `appointmentType`. SCH-25: `status` via table 0278. SCH-16
//!   and SCH-20 (required persons R4 does not record) name the sending application.
//! - Start/end: TQ1-7/8 from v2.5, SCH-11.4/.5 before; AIx start and duration too.
//! - Participants: Patient → PID; Practitioner/PractitionerRole → AIP; Location → AIL (PL-9
//!   description = name or display); others → AIG. Participant `type` → AIx resource type.
//! - `Appointment.virtualService` extension → PV1 (class `O`, virtual marker) and OBX
//!   `VS-CHANNEL` (the code, or `system code` for a channel outside the R5
//!   virtual-service-type system), `VS-ADDRESS`, `VS-INFO`, `VS-SESSION-KEY`.

use serde_json::Value;

use super::datatypes::{bare_id, ce, ce_width, ei};
use super::patient::pid;
use super::{Out, arr, event, s};
use crate::MappingError;
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::inbound::appointment::{VIRTUAL_SERVICE_TYPE, VS_CODES};
use crate::hl7v2::time::fhir_to_dtm;
use crate::hl7v2::write::{SegmentWriter, comps_of, esc};
use crate::hl7v2::{Outbound, Related, VIRTUAL_SERVICE, WriteOptions, Z_SEGMENT, ZSegments};

const BY_STATUS: &[(&str, &str)] = &[("booked", "S12"), ("cancelled", "S15"), ("noshow", "S26")];
const EVENTS: &[&str] = &["S12", "S13", "S14", "S15", "S26"];

/// Appointment (JSON) → one SIU message.
///
/// Errors: [`MappingError::Invalid`] when the input is not an Appointment, the event cannot
/// be chosen, or the version is not one fhirgate writes.
pub fn appointment_to_siu(
    appointment: &Value,
    related: &Related<'_>,
    opts: &WriteOptions,
) -> Result<Outbound, MappingError> {
    if appointment["resourceType"] != "Appointment" {
        return Err(MappingError::invalid(
            "hl7v2",
            "appointment_to_siu needs an Appointment",
        ));
    }
    let mut out = Out::new(opts, related)?;
    let status = s(appointment, "status").unwrap_or("");
    let ev = event(
        opts.event.as_deref(),
        status,
        BY_STATUS,
        EVENTS,
        "Appointment",
    )?;
    let mut segs = vec![out.msh("SIU", &ev, "SIU_S12")];
    segs.push(sch(appointment, &ev, &out));
    let start = s(appointment, "start").and_then(|t| fhir_to_dtm(t).ok());
    let end = s(appointment, "end").and_then(|t| fhir_to_dtm(t).ok());
    if out.at_least(5) && (start.is_some() || end.is_some()) {
        let mut tq1 = SegmentWriter::new("TQ1");
        tq1.set(1, "1");
        tq1.set(7, start.clone().unwrap_or_default());
        tq1.set(8, end.unwrap_or_default());
        segs.push(tq1.finish());
    }
    if let Some(c) = s(appointment, "comment") {
        let mut nte = SegmentWriter::new("NTE");
        nte.set(1, "1");
        nte.text(3, Some(c));
        segs.push(nte.finish());
    }
    patient_group(appointment, &ev, &mut out, &mut segs);
    resources(appointment, start.as_deref(), &out, &mut segs);
    if opts.z_segments == ZSegments::Keep {
        segs.extend(z_segments(appointment));
    }
    Ok(out.finish(&segs, &ev))
}

fn sch(a: &Value, ev: &str, out: &Out<'_>) -> String {
    let width = ce_width(out);
    let mut w = SegmentWriter::new("SCH");
    let ids = arr(a, "identifier");
    let typed = |t: &str| {
        ids.iter().find(|i| {
            arr(&i["type"], "coding")
                .iter()
                .any(|c| s(c, "code") == Some(t))
        })
    };
    let placer = typed("PLAC").or_else(|| ids.iter().find(|i| i.get("type").is_none()));
    let placer = match (placer, s(a, "id")) {
        (Some(i), _) => ei(i, out),
        (None, Some(id)) => bare_id(id, out, true),
        (None, None) => String::new(),
    };
    w.set(1, placer);
    if let Some(f) = typed("FILL") {
        w.set(2, ei(f, out));
    }
    let reason = if ev == "S15" {
        a.get("cancelationReason")
    } else {
        arr(a, "reasonCode").first()
    };
    w.set(
        6,
        match reason {
            Some(r) => ce(r, width),
            None => comps_of(&[Some(ev), None, Some("HL70003")]),
        },
    );
    if let Some(t) = a.get("appointmentType") {
        w.set(7, ce(t, width));
    }
    if out.version < (2, 5, 0) {
        let start = s(a, "start").and_then(|t| fhir_to_dtm(t).ok());
        let end = s(a, "end").and_then(|t| fhir_to_dtm(t).ok());
        if start.is_some() || end.is_some() {
            w.set(
                11,
                format!(
                    "^^^{}^{}",
                    start.unwrap_or_default(),
                    end.unwrap_or_default()
                )
                .trim_end_matches('^')
                .to_owned(),
            );
        }
    }
    // SCH-16 filler contact person and SCH-20 entered-by person are required in v2.3–2.6;
    // an R4 Appointment has neither, so both name the sending application (its HD-1).
    let namespace = out.opts.sending_application.split('^').next();
    let app = comps_of(&[namespace]);
    w.set(16, app.clone());
    w.set(20, app);
    if let Some(st) = s(a, "status").and_then(|st| lookup(codes::STATUS_TO_FILLER, st)) {
        w.set(25, st);
    }
    w.finish()
}

fn patient_group(a: &Value, ev: &str, out: &mut Out<'_>, segs: &mut Vec<String>) {
    let patient_ref = arr(a, "participant")
        .iter()
        .filter_map(|p| s(&p["actor"], "reference"))
        .find(|r| {
            r.contains("Patient/")
                || out
                    .resolve(r)
                    .is_some_and(|x| x["resourceType"] == "Patient")
        });
    let update = ev == "S14";
    match (out.related.patient, patient_ref) {
        (Some(p), _) => segs.push(pid(p, out, update)),
        (None, Some(r)) => {
            out.warn("the Appointment's Patient was not resolved: PID carries only its id");
            let id = r.rsplit('/').next().unwrap_or(r);
            segs.push(pid(&serde_json::json!({"id": id}), out, false));
        }
        (None, None) => {
            out.warn("the Appointment has no Patient participant: no PID written");
            return;
        }
    }
    let Some(vs) = arr(a, "extension")
        .iter()
        .find(|e| s(e, "url") == Some(VIRTUAL_SERVICE))
    else {
        return;
    };
    let marker = &out.opts.virtual_marker;
    let mut pv1 = SegmentWriter::new("PV1");
    pv1.set(1, "1");
    pv1.set(2, "O");
    pv1.set(marker.field.max(3), esc(&marker.value));
    segs.push(pv1.finish());
    let mut n = 0;
    for part in arr(vs, "extension") {
        let Some(url) = s(part, "url") else { continue };
        let Some(code) = VS_CODES.iter().find(|(_, u)| *u == url).map(|(c, _)| *c) else {
            continue;
        };
        let value = match url {
            "channelType" => {
                let c = &part["valueCoding"];
                match (s(c, "system"), s(c, "code")) {
                    (Some(VIRTUAL_SERVICE_TYPE) | None, Some(code)) => code.to_owned(),
                    (Some(sys), Some(code)) => format!("{sys} {code}"),
                    _ => continue,
                }
            }
            _ => match ["valueUrl", "valueString", "valueUri"]
                .iter()
                .find_map(|k| s(part, k))
            {
                Some(v) => v.to_owned(),
                None => continue,
            },
        };
        n += 1;
        let mut obx = SegmentWriter::new("OBX");
        obx.set(1, n.to_string());
        obx.set(2, "ST");
        obx.set(3, comps_of(&[Some(code), Some(label(code)), Some("L")]));
        obx.set(5, esc(&value));
        obx.set(11, "F");
        segs.push(obx.finish());
    }
}

fn label(code: &str) -> &'static str {
    match code {
        "VS-CHANNEL" => "Virtual service channel type",
        "VS-ADDRESS" => "Virtual service address",
        "VS-INFO" => "Virtual service additional information",
        _ => "Virtual service session key",
    }
}

fn resources(a: &Value, start: Option<&str>, out: &Out<'_>, segs: &mut Vec<String>) {
    let mut rgs = SegmentWriter::new("RGS");
    rgs.set(1, "1");
    rgs.set(2, "A");
    segs.push(rgs.finish());
    let width = ce_width(out);
    let minutes = a
        .get("minutesDuration")
        .and_then(Value::as_u64)
        .or_else(|| {
            let (st, en) = (s(a, "start")?, s(a, "end")?);
            let secs = crate::wearables::time::seconds_between(st, en).ok()?;
            (secs >= 60.0).then_some((secs / 60.0).round() as u64)
        });
    let status = s(a, "status").and_then(|st| lookup(codes::STATUS_TO_FILLER, st));
    let timing = |w: &mut SegmentWriter, start_field: usize, status_field: usize| {
        if let Some(t) = start {
            w.set(start_field, t);
        }
        if let Some(m) = minutes {
            w.set(start_field + 3, m.to_string());
            w.set(
                start_field + 4,
                comps_of(&[Some("min"), Some("minutes"), Some("UCUM")]),
            );
        }
        if let Some(st) = status {
            w.set(status_field, st);
        }
    };
    for (i, st) in arr(a, "serviceType").iter().enumerate() {
        let mut w = SegmentWriter::new("AIS");
        w.set(1, (i + 1).to_string());
        w.set(2, "A");
        w.set(3, ce(st, width));
        timing(&mut w, 4, 10);
        segs.push(w.finish());
    }
    let (mut aig, mut ail, mut aip) = (Vec::new(), Vec::new(), Vec::new());
    for p in arr(a, "participant") {
        let actor = &p["actor"];
        let reference = s(actor, "reference").unwrap_or("");
        let resolved = out.resolve(reference);
        let kind = resolved
            .and_then(|r| s(r, "resourceType"))
            .or_else(|| s(actor, "type"))
            .or_else(|| reference.rsplit('/').nth(1))
            .unwrap_or("");
        let action = if s(p, "status") == Some("declined") {
            "D"
        } else {
            "A"
        };
        let role = arr(p, "type")
            .first()
            .map(|t| ce(t, width))
            .unwrap_or_default();
        match kind {
            "Patient" => {}
            "Practitioner" | "PractitionerRole" => {
                let mut w = SegmentWriter::new("AIP");
                w.set(2, action);
                w.set(3, super::datatypes::xcn(actor, out));
                w.set(4, role);
                timing(&mut w, 6, 12);
                aip.push(w);
            }
            "Location" => {
                let name = resolved
                    .and_then(|r| s(r, "name"))
                    .or_else(|| s(actor, "display"));
                let mut w = SegmentWriter::new("AIL");
                w.set(2, action);
                w.set(
                    3,
                    comps_of(&[None, None, None, None, None, None, None, None, name]),
                );
                w.set(4, role);
                timing(&mut w, 6, 12);
                ail.push(w);
            }
            _ => {
                let id = s(&actor["identifier"], "value").or_else(|| reference.rsplit('/').next());
                let mut w = SegmentWriter::new("AIG");
                w.set(2, action);
                w.set(
                    3,
                    comps_of(&[id.filter(|i| !i.is_empty()), s(actor, "display")]),
                );
                w.set(
                    4,
                    if role.is_empty() {
                        comps_of(&[Some(kind).filter(|k| !k.is_empty())])
                    } else {
                        role
                    },
                );
                timing(&mut w, 8, 14);
                aig.push(w);
            }
        }
    }
    for group in [aig, ail, aip] {
        for (i, mut w) in group.into_iter().enumerate() {
            w.set(1, (i + 1).to_string());
            segs.push(w.finish());
        }
    }
}

/// [`Z_SEGMENT`] extensions written back as segments.
pub fn z_segments(resource: &Value) -> Vec<String> {
    arr(resource, "extension")
        .iter()
        .filter(|e| s(e, "url") == Some(Z_SEGMENT))
        .filter_map(|e| s(e, "valueString"))
        .filter(|z| z.starts_with('Z') && z.len() >= 3 && !z.contains(['\r', '\n']))
        .map(str::to_owned)
        .collect()
}
