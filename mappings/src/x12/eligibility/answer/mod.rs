//! FHIR CoverageEligibilityResponse (+ the Coverage, the member's Patient record, the insurer)
//! → a 271 [`Eligibility`]: what a payer answers to a 270 (the sandbox payer uses it).
//!
//! The 271 echoes the 270's receiver (2100B), names and trace (TRN*2, 005010X279A1
//! §1.4.7), and answers with the payer's own record of the member: where it differs from
//! the 270, INS03/INS04 `001`/`25` flag the demographic correction. `inforce` → EB*1 (active)
//! or EB*6 (inactive) with the Coverage's plan; each item benefit → one EB; each `error` →
//! one AAA in the loop its reason belongs to (payer 2100A, provider 2100B, else the
//! patient's 2100C/2100D).

mod items;

use serde_json::Value;

use super::fhir::{codes, date_to_x12, text};
use super::inquiry::payer_id;
use super::model::{DateValue, Eligibility, Entity, Member, MemberRelationship, Rejection, Trace};
use crate::MappingError;
use crate::x12::codes::{FOLLOW_UP_ACTION, REJECT_REASON};
use items::benefits;

/// What a 271 is built from.
#[derive(Debug, Clone, Copy)]
pub struct AnswerResources<'a> {
    /// The CoverageEligibilityResponse.
    pub response: &'a Value,
    /// The Coverage it confirms (absent for rejections).
    pub coverage: Option<&'a Value>,
    /// The payer's record of the member (a Patient); absent: the 270's names are echoed.
    pub member: Option<&'a Value>,
    /// The insurer Organization; absent: the 270's payer is echoed.
    pub insurer: Option<&'a Value>,
    /// The 270 being answered.
    pub inquiry: &'a Eligibility,
    /// BHT04/BHT05 of the answer (`CCYYMMDD`, `HHMM`).
    pub created: (&'a str, &'a str),
}

/// Builds the 271 (see the module docs).
///
/// Errors: the inquiry is not a 270 or names no subscriber; an item whose benefit type is
/// neither an X12 1390 code nor a FHIR benefit-type this mapping knows.
pub fn coverage_eligibility_response_to_271(
    r: &AnswerResources<'_>,
) -> Result<Eligibility, MappingError> {
    let q = r.inquiry;
    if q.transaction != "270" {
        return Err(MappingError::invalid(
            "x12",
            "only a 270 can be answered with a 271",
        ));
    }
    let Some(asked_subscriber) = &q.subscriber else {
        return Err(MappingError::invalid(
            "x12",
            "the 270 names no subscriber (2000C)",
        ));
    };
    let mut a = Eligibility {
        transaction: "271".into(),
        purpose: "11".into(),
        reference: q.reference.clone(),
        date: r.created.0.to_owned(),
        time: r.created.1.to_owned(),
        source: q.source.clone(),
        receiver: q.receiver.clone(),
        ..Default::default()
    };
    if let Some(org) = r.insurer {
        if let Some(name) = text(org, &["name"]) {
            a.source.last_or_org = name.to_owned();
        }
        if let Some(id) = payer_id(org) {
            a.source.id = id.to_owned();
        }
    }
    let dependent = q.dependent.is_some();
    let mut subscriber = echo(asked_subscriber);
    let mut patient = q.dependent.as_ref().map(echo);
    {
        let target = patient.as_mut().unwrap_or(&mut subscriber);
        if let Some(m) = r.member {
            correct(target, m, dependent);
        }
        if let Some(c) = r.coverage {
            target.dates = coverage_dates(c);
            if !dependent && let Some(id) = text(c, &["subscriberId"]) {
                target.name.id = id.to_owned();
            }
        }
        target.benefits = benefits(r.response, r.coverage)?;
    }
    let patient_loop = if dependent { "2100D" } else { "2100C" };
    for e in r
        .response
        .get("error")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(x) = rejection(e, patient_loop) else {
            continue;
        };
        match x.loop_id.as_str() {
            "2100A" => a.source_rejections.push(x),
            "2100B" => a.receiver_rejections.push(x),
            _ => patient
                .as_mut()
                .unwrap_or(&mut subscriber)
                .rejections
                .push(x),
        }
    }
    a.subscriber = Some(subscriber);
    a.dependent = patient;
    Ok(a)
}

/// The 270's member as echoed: traces become TRN*2 (referenced), no EQ loops.
fn echo(m: &Member) -> Member {
    Member {
        traces: m
            .traces
            .iter()
            .filter(|t| t.trace_type == "1")
            .map(|t| Trace {
                trace_type: "2".into(),
                ..t.clone()
            })
            .collect(),
        name: Entity {
            address: None,
            ..m.name.clone()
        },
        birth_date: m.birth_date.clone(),
        gender: m.gender.clone(),
        relationship: m.relationship.clone(),
        ..Default::default()
    }
}

/// The payer's record replaces the echoed names; a difference sets INS `001`/`25`.
fn correct(target: &mut Member, record: &Value, dependent: bool) {
    let before = (
        target.name.last_or_org.to_ascii_uppercase(),
        target.name.first.to_ascii_uppercase(),
        target.birth_date.clone(),
    );
    if let Some(n) = super::fhir::person_name(record) {
        target.name.last_or_org = n.family;
        target.name.first = n.first;
        target.name.middle = n.middle;
        target.name.suffix = n.suffix;
    }
    if let Some(b) = text(record, &["birthDate"]).and_then(date_to_x12) {
        target.birth_date = b;
    }
    if record.get("gender").is_some() {
        target.gender = super::fhir::gender_to_x12(text(record, &["gender"])).into();
    }
    let after = (
        target.name.last_or_org.to_ascii_uppercase(),
        target.name.first.to_ascii_uppercase(),
        target.birth_date.clone(),
    );
    if before != after {
        let previous = target.relationship.clone().unwrap_or_default();
        target.relationship = Some(MemberRelationship {
            is_subscriber: if dependent { "N".into() } else { "Y".into() },
            relationship: if previous.relationship.is_empty() {
                "18".into()
            } else {
                previous.relationship
            },
            maintenance_type: "001".into(),
            maintenance_reason: "25".into(),
        });
    }
}

fn coverage_dates(c: &Value) -> Vec<DateValue> {
    let mut out = Vec::new();
    for (key, qualifier) in [("start", "346"), ("end", "347")] {
        if let Some(d) = text(c, &["period", key]).and_then(date_to_x12) {
            out.push(DateValue {
                qualifier: qualifier.into(),
                format: "D8".into(),
                value: d,
            });
        }
    }
    out
}

fn rejection(error: &Value, patient_loop: &str) -> Option<Rejection> {
    let code = error.get("code")?;
    let reason = codes(code, REJECT_REASON.system).first().copied()?;
    let follow_up = codes(code, FOLLOW_UP_ACTION.system)
        .first()
        .copied()
        .unwrap_or("C");
    let loop_id = match reason {
        "04" | "41" | "42" | "79" | "80" | "T4" => "2100A",
        "43" | "44" | "45" | "46" | "47" | "48" | "50" | "51" | "97" => "2100B",
        _ => patient_loop,
    };
    let invalid = matches!(
        reason,
        "15" | "33"
            | "43"
            | "44"
            | "45"
            | "46"
            | "47"
            | "48"
            | "54"
            | "55"
            | "56"
            | "57"
            | "58"
            | "64"
            | "65"
            | "66"
            | "72"
            | "73"
            | "74"
            | "97"
            | "T4"
    );
    Some(Rejection {
        loop_id: loop_id.into(),
        valid_request: if invalid { "N" } else { "Y" }.into(),
        reason: reason.into(),
        follow_up: follow_up.into(),
    })
}
