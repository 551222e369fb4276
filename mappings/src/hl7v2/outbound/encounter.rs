//! Encounter → ADT (HL7 v2.5.1 ch. 3: A04 register, A08 update with structure `ADT_A01`;
//! A03 end of visit with `ADT_A03`): MSH, EVN, PID, PV1, PV2 (the reverse of
//! [`crate::hl7v2::inbound::encounter`]).
//!
//! - Event: `in-progress` → A04, `finished` → A03, or the explicit one of A04, A08, A03.
//! - EVN-2 recorded time is the message time; EVN-6 event occurred is `period.start` (A04)
//!   or `period.end` (A03).
//! - PV1-2 from `class` (table 0004; `VR` → `O` plus the virtual marker, by default PV1-18
//!   = `VR`); PV1-7/8/9/17 from participants typed ATND/REF/CON/ADM (an untyped participant
//!   is the attending); PV1-19 from the first identifier (else the FHIR id); PV1-14 from
//!   `hospitalization.admitSource`; PV1-44/45 from `period`; PV2-3 from `reasonCode[0]`.

use serde_json::Value;

use super::datatypes::{bare_id, ce, ce_width, cx, xcn};
use super::patient::pid;
use super::{Out, arr, event, s};
use crate::MappingError;
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::time::fhir_to_dtm;
use crate::hl7v2::write::{SegmentWriter, esc, reps};
use crate::hl7v2::{Outbound, Related, WriteOptions, ZSegments};

const BY_STATUS: &[(&str, &str)] = &[("in-progress", "A04"), ("finished", "A03")];
const EVENTS: &[&str] = &["A04", "A08", "A03"];

/// Encounter (JSON) → one ADT message. `related.patient` is the subject.
///
/// Errors: [`MappingError::Invalid`] when the input is not an Encounter, the subject was not
/// resolved, the event cannot be chosen, or the version is not one fhirgate writes.
pub fn encounter_to_adt(
    encounter: &Value,
    related: &Related<'_>,
    opts: &WriteOptions,
) -> Result<Outbound, MappingError> {
    if encounter["resourceType"] != "Encounter" {
        return Err(MappingError::invalid(
            "hl7v2",
            "encounter_to_adt needs an Encounter",
        ));
    }
    let mut out = Out::new(opts, related)?;
    let status = s(encounter, "status").unwrap_or("");
    let ev = event(
        opts.event.as_deref(),
        status,
        BY_STATUS,
        EVENTS,
        "Encounter",
    )?;
    let structure = if ev == "A03" { "ADT_A03" } else { "ADT_A01" };
    let mut segs = vec![out.msh("ADT", &ev, structure)];
    let period = &encounter["period"];
    let occurred = if ev == "A03" {
        s(period, "end")
    } else {
        s(period, "start")
    };
    let mut evn = SegmentWriter::new("EVN");
    evn.set(1, esc(&ev));
    evn.set(2, out.time().to_owned());
    if let Some(t) = occurred.and_then(|t| fhir_to_dtm(t).ok()) {
        evn.set(6, t);
    }
    segs.push(evn.finish());
    match related.patient {
        Some(p) => segs.push(pid(p, &out, ev == "A08")),
        None => match s(&encounter["subject"], "reference") {
            Some(r) => {
                out.warn("the Encounter's subject was not resolved: PID carries only its id");
                let id = r.rsplit('/').next().unwrap_or(r);
                segs.push(pid(&serde_json::json!({"id": id}), &out, false));
            }
            None => {
                return Err(MappingError::invalid(
                    "hl7v2",
                    "Encounter.subject is required for ADT (PID)",
                ));
            }
        },
    }
    segs.push(pv1(encounter, &out));
    if let Some(reason) = arr(encounter, "reasonCode").first() {
        let mut pv2 = SegmentWriter::new("PV2");
        pv2.set(3, ce(reason, ce_width(&out)));
        segs.push(pv2.finish());
    }
    if opts.z_segments == ZSegments::Keep {
        segs.extend(super::appointment::z_segments(encounter));
    }
    Ok(out.finish(&segs, &ev))
}

fn pv1(e: &Value, out: &Out<'_>) -> String {
    let mut w = SegmentWriter::new("PV1");
    w.set(1, "1");
    let class = s(&e["class"], "code").unwrap_or("");
    let v2_class = lookup(codes::CLASS_TO_V2, class)
        .map(str::to_owned)
        .or_else(|| {
            (s(&e["class"], "system") == Some(codes::v2_table("0004").as_str()))
                .then(|| class.to_owned())
        })
        .unwrap_or_else(|| "U".to_owned());
    w.set(2, esc(&v2_class));
    let mut by_field: Vec<(usize, Vec<String>)> = Vec::new();
    for p in arr(e, "participant") {
        let Some(ind) = p.get("individual") else {
            continue;
        };
        let code = arr(p, "type")
            .iter()
            .flat_map(|t| arr(t, "coding"))
            .find_map(|c| s(c, "code"))
            .unwrap_or("ATND");
        let field = match code {
            "ATND" | "PPRF" | "PART" => 7,
            "REF" => 8,
            "CON" => 9,
            "ADM" => 17,
            _ => continue,
        };
        let x = xcn(ind, out);
        match by_field.iter_mut().find(|(f, _)| *f == field) {
            Some((_, v)) => v.push(x),
            None => by_field.push((field, vec![x])),
        }
    }
    for (f, v) in by_field {
        w.set(f, reps(&v));
    }
    if let Some(src) = e["hospitalization"].get("admitSource") {
        w.set(14, ce(src, ce_width(out)));
    }
    if class == "VR" {
        let m = &out.opts.virtual_marker;
        w.set(m.field.max(3), esc(&m.value));
    }
    let visit = match (arr(e, "identifier").first(), s(e, "id")) {
        (Some(i), _) => cx(i, out),
        (None, Some(id)) => bare_id(id, out, false),
        (None, None) => String::new(),
    };
    w.set(19, visit);
    let period = &e["period"];
    if let Some(t) = s(period, "start").and_then(|t| fhir_to_dtm(t).ok()) {
        w.set(44, t);
    }
    if let Some(t) = s(period, "end").and_then(|t| fhir_to_dtm(t).ok()) {
        w.set(45, t);
    }
    w.finish()
}
