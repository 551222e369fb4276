//! FHIR CoverageEligibilityResponse (+ the Coverage, the member's Patient record, the insurer)
//! → a 271 [`Eligibility`]: what a payer answers to a 270 (the sandbox payer uses it).
//!
//! The 271 echoes the 270's receiver (2100B), names and trace (TRN*2, 005010X279A1
//! §1.4.7), and answers with the payer's own record of the member: where it differs from
//! the 270, INS03/INS04 `001`/`25` flag the demographic correction. `inforce` → EB*1 (active)
//! or EB*6 (inactive) with the Coverage's plan; each item benefit → one EB; each `error` →
//! one AAA in the loop its reason belongs to (payer 2100A, provider 2100B, else the
//! patient's 2100C/2100D).

use serde_json::Value;

use super::benefits::{
    BENEFIT_NETWORK, BENEFIT_TERM, BENEFIT_TYPE, BENEFIT_TYPES_BACK, BENEFIT_UNIT, TERMS, UNITS,
    category_service_types,
};
use super::fhir::{CPT_SYSTEM, HCPCS_SYSTEM, codes, date_to_x12, text};
use super::inquiry::payer_id;
use super::model::{
    Benefit, DateValue, Eligibility, Entity, Member, MemberRelationship, Rejection, Trace,
};
use crate::MappingError;
use crate::x12::codes::{
    COVERAGE_LEVEL, ELIGIBILITY_OR_BENEFIT, FOLLOW_UP_ACTION, INSURANCE_TYPE, REJECT_REASON,
    TIME_PERIOD,
};

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

fn reverse<'a>(table: &[(&'a str, &'a str)], fhir: &str) -> Option<&'a str> {
    table.iter().find(|(_, f)| *f == fhir).map(|(x, _)| *x)
}

/// The X12 code of `concept`: its `system` coding, else the FHIR coding mapped back.
fn x12_code(
    concept: Option<&Value>,
    system: &str,
    fhir_system: &str,
    table: &[(&str, &str)],
) -> String {
    let Some(c) = concept else {
        return String::new();
    };
    codes(c, system)
        .first()
        .map(|s| (*s).to_owned())
        .or_else(|| {
            codes(c, fhir_system)
                .first()
                .and_then(|f| reverse(table, f))
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// Benefit-type codes: codings of the FHIR system, or without a system (as the FHIR
/// examples write them).
fn benefit_type_codes(kind: &Value) -> Vec<&str> {
    kind.get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c.get("system")
                .and_then(Value::as_str)
                .is_none_or(|s| s == BENEFIT_TYPE)
        })
        .filter_map(|c| text(c, &["code"]))
        .collect()
}

fn benefits(response: &Value, coverage: Option<&Value>) -> Result<Vec<Benefit>, MappingError> {
    let Some(ins) = response.get("insurance").and_then(|i| i.get(0)) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Some(inforce) = ins.get("inforce").and_then(Value::as_bool) {
        let insurance_type = coverage
            .and_then(|c| c.get("type"))
            .map(|t| {
                codes(t, INSURANCE_TYPE.system)
                    .first()
                    .map(|s| (*s).to_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let plan = coverage
            .and_then(|c| c.get("class"))
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter().find(|c| {
                    c.get("type").is_some_and(|t| {
                        codes(t, "http://terminology.hl7.org/CodeSystem/coverage-class")
                            .contains(&"plan")
                    })
                })
            })
            .and_then(|c| text(c, &["name"]).or_else(|| text(c, &["value"])))
            .unwrap_or("");
        out.push(Benefit {
            code: if inforce { "1" } else { "6" }.into(),
            service_types: vec!["30".into()],
            insurance_type,
            plan_description: plan.to_owned(),
            ..Default::default()
        });
    }
    for (i, item) in ins
        .get("item")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        out.extend(item_to_eb(item, i)?);
    }
    Ok(out)
}

fn item_to_eb(item: &Value, index: usize) -> Result<Vec<Benefit>, MappingError> {
    let category = item.get("category");
    let service_types = category.map(category_service_types).unwrap_or_default();
    let mut base = Benefit {
        coverage_level: x12_code(
            item.get("unit"),
            COVERAGE_LEVEL.system,
            BENEFIT_UNIT,
            &UNITS,
        ),
        service_types: service_types.into_iter().take(1).collect(),
        plan_description: text(item, &["name"]).unwrap_or("").to_owned(),
        time_period: x12_code(item.get("term"), TIME_PERIOD.system, BENEFIT_TERM, &TERMS),
        authorization_required: match item.get("authorizationRequired").and_then(Value::as_bool) {
            Some(true) => "Y".into(),
            Some(false) => "N".into(),
            None => String::new(),
        },
        in_network: match item
            .get("network")
            .map(|n| codes(n, BENEFIT_NETWORK))
            .unwrap_or_default()
            .first()
        {
            Some(&"in") => "Y".into(),
            Some(&"out") => "N".into(),
            _ => String::new(),
        },
        messages: text(item, &["description"])
            .map(|d| vec![d.to_owned()])
            .unwrap_or_default(),
        ..Default::default()
    };
    if let Some(p) = item.get("productOrService") {
        base.procedure = codes(p, CPT_SYSTEM)
            .first()
            .or(codes(p, HCPCS_SYSTEM).first())
            .map(|c| ("HC".to_owned(), (*c).to_owned()));
    }
    let mut out = Vec::new();
    for b in item
        .get("benefit")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = b.get("type");
        let fhir_types: Vec<&str> = kind.map(benefit_type_codes).unwrap_or_default();
        let visit = fhir_types.contains(&"visit");
        let code = kind
            .and_then(|k| codes(k, ELIGIBILITY_OR_BENEFIT.system).first().map(|c| (*c).to_owned()))
            .or_else(|| fhir_types.iter().find_map(|f| reverse(&BENEFIT_TYPES_BACK, f)).map(str::to_owned))
            .ok_or_else(|| {
                MappingError::invalid(
                    "fhir",
                    format!("insurance[0].item[{index}].benefit.type has no X12 1390 or known benefit-type code (271 EB01)"),
                )
            })?;
        if let Some(currency) = b
            .pointer("/allowedMoney/currency")
            .and_then(Value::as_str)
            .filter(|c| *c != "USD")
        {
            return Err(MappingError::invalid(
                "fhir",
                format!(
                    "insurance[0].item[{index}].benefit.allowedMoney is in {currency}; X12 amounts (271 EB07) are US dollars"
                ),
            ));
        }
        let mut eb = Benefit {
            code: code.clone(),
            ..base.clone()
        };
        if let Some(m) = b
            .get("allowedMoney")
            .and_then(|m| m.get("value"))
            .filter(|v| v.is_number())
        {
            eb.amount = m.to_string();
        }
        if let Some(n) = b.get("allowedUnsignedInt").and_then(Value::as_u64) {
            if code == "A" {
                eb.percent = format!("{}.{:02}", n / 100, n % 100);
            } else {
                eb.quantity_qualifier = if visit { "VS" } else { "P6" }.into();
                eb.quantity = n.to_string();
            }
        }
        if let Some(s) = b.get("allowedString").and_then(Value::as_str) {
            eb.messages.push(s.to_owned());
        }
        out.push(eb);
    }
    Ok(out)
}
