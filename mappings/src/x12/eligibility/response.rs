//! A 271 [`Eligibility`] → FHIR R4 CoverageEligibilityResponse, the Coverage it confirms and
//! the member as the payer knows them (005010X279A1 → FHIR R4 §CoverageEligibilityResponse).
//!
//! - `outcome`: `complete`; `error` when AAA segments reject the request and no EB answers
//!   it; `partial` when both occur.
//! - `error[]`: one per AAA, coded with the reject reason (X12 901) and the follow-up action
//!   (X12 889), `text` naming the loop.
//! - `insurance[0]`: `inforce` from EB01 1–5 (active) or 6–8 (inactive); `benefitPeriod`
//!   from DTP 291/307 (RD8) or 346/356 and 347/357; items per EB (see [`super::benefits`]).
//! - Demographic corrections: where the 271's NM1/DMG differ from the 270 that was sent (or
//!   INS03/INS04 say `001`/`25`), each difference is a [`Correction`], listed in
//!   `disposition`; the payer's values are in [`MappedResponse::member`].

use serde_json::{Value, json};

use super::benefits::eb_to_items;
use super::fhir::{
    TRACE_SYSTEM_PREFIX, fhir_address, human_name, typed_identifier, x12_to_date, x12_to_gender,
};
use super::model::{DateValue, Eligibility, Member, Rejection};
use crate::MappingError;
use crate::x12::codes::{FOLLOW_UP_ACTION, INSURANCE_TYPE, REJECT_REASON};

/// What the 271 does not say: references into the caller's FHIR world.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    /// `CoverageEligibilityResponse.id`, if any.
    pub id: Option<String>,
    /// Reference to the Patient the request was about.
    pub patient: Value,
    /// Reference to the Coverage the answer confirms (`insurance.coverage`).
    pub coverage: Value,
    /// Reference to the insurer; `None`: the 271's payer name and id.
    pub insurer: Option<Value>,
    /// Reference to the provider that asked (`requestor`).
    pub requestor: Option<Value>,
    /// Reference to the CoverageEligibilityRequest; `None`: its trace number identifier.
    pub request: Option<Value>,
    /// `created` (FHIR dateTime); `None`: BHT04/BHT05 of the 271 as a date.
    pub created: Option<String>,
    /// `purpose` (`benefits`, `validation`, …); empty: `["validation", "benefits"]`.
    pub purpose: Vec<String>,
    /// `servicedDate` or `servicedPeriod` of the request, as `(element name, value)`.
    pub serviced: Option<(String, Value)>,
    /// The 270 that was sent, to detect demographic corrections.
    pub sent: Option<Eligibility>,
}

/// A value the payer answered differently from what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// FHIR element of the member, e.g. `birthDate`, `name.family`, `gender`.
    pub element: &'static str,
    /// What the 270 said (empty when unknown).
    pub sent: String,
    /// What the 271 says.
    pub payer: String,
}

/// The FHIR side of a 271.
#[derive(Debug, Clone)]
pub struct MappedResponse {
    /// The CoverageEligibilityResponse.
    pub response: Value,
    /// The Coverage it confirms, as the payer describes it (no id; `beneficiary` is the
    /// context's patient); `None` when the answer holds no benefits.
    pub coverage: Option<Value>,
    /// The member as the payer knows them (a Patient without id): name, birth date,
    /// gender, address, member id.
    pub member: Option<Value>,
    /// Demographic corrections (see the module docs).
    pub corrections: Vec<Correction>,
}

/// Maps a 271 (see the module docs).
///
/// Errors: the [`Eligibility`] is not a 271.
pub fn eligibility_271_to_coverage_eligibility_response(
    e: &Eligibility,
    ctx: &ResponseContext,
) -> Result<MappedResponse, MappingError> {
    if e.transaction != "271" {
        return Err(MappingError::invalid(
            "x12",
            format!("a {} is not an eligibility answer (271)", e.transaction),
        ));
    }
    let patient = e.patient();
    let rejections = e.rejections();
    let benefits = patient.map(|m| m.benefits.as_slice()).unwrap_or_default();
    let outcome = match (rejections.is_empty(), benefits.is_empty()) {
        (true, _) => "complete",
        (false, true) => "error",
        (false, false) => "partial",
    };
    let insurer = ctx.insurer.clone().unwrap_or_else(|| {
        let mut r = json!({"display": e.source.last_or_org});
        if !e.source.id.is_empty() {
            r["identifier"] = typed_identifier("NIIP", &e.source.id);
        }
        r
    });
    let trace = patient.and_then(|m| m.trace("2").or_else(|| m.trace("1")));
    let request = ctx.request.clone().unwrap_or_else(|| match trace {
        Some(t) => json!({"identifier": {"system": format!("{TRACE_SYSTEM_PREFIX}{}", t.originator), "value": t.number}}),
        None => json!({"display": format!("270 {}", e.reference)}),
    });
    let created = ctx
        .created
        .clone()
        .or_else(|| x12_to_date(&e.date))
        .unwrap_or_default();
    let purpose = if ctx.purpose.is_empty() {
        vec!["validation".to_owned(), "benefits".to_owned()]
    } else {
        ctx.purpose.clone()
    };
    let mut r = json!({"resourceType": "CoverageEligibilityResponse"});
    if let Some(id) = &ctx.id {
        r["id"] = json!(id);
    }
    if let Some(t) = trace {
        r["identifier"] = json!([{"system": format!("{TRACE_SYSTEM_PREFIX}{}", t.originator), "value": t.number}]);
    }
    r["status"] = json!("active");
    r["purpose"] = json!(purpose);
    r["patient"] = ctx.patient.clone();
    if let Some((key, value)) = &ctx.serviced {
        r[key.as_str()] = value.clone();
    }
    r["created"] = json!(created);
    if let Some(req) = &ctx.requestor {
        r["requestor"] = req.clone();
    }
    r["request"] = request;
    r["outcome"] = json!(outcome);
    let corrections = match (patient, ctx.sent.as_ref().and_then(Eligibility::patient)) {
        (Some(m), sent) => corrections(m, sent),
        (None, _) => Vec::new(),
    };
    r["disposition"] = json!(disposition(&rejections, benefits, &corrections));
    r["insurer"] = insurer.clone();
    let inforce = inforce(patient);
    let period = patient.and_then(|m| benefit_period(m, e.subscriber.as_ref()));
    let mut coverage = None;
    if !benefits.is_empty() {
        let mut ins = json!({});
        ins["coverage"] = ctx.coverage.clone();
        if let Some(f) = inforce {
            ins["inforce"] = json!(f);
        }
        if let Some(p) = &period {
            ins["benefitPeriod"] = p.clone();
        }
        ins["item"] = Value::Array(benefits.iter().flat_map(eb_to_items).collect());
        r["insurance"] = Value::Array(vec![ins]);
        coverage = Some(confirmed_coverage(e, ctx, &insurer, inforce, period));
    }
    if !rejections.is_empty() {
        r["error"] = Value::Array(rejections.iter().map(|x| error(x)).collect());
    }
    Ok(MappedResponse {
        response: r,
        coverage,
        member: patient.map(|m| member_patient(m, &e.source.last_or_org)),
        corrections,
    })
}

/// One AAA as `CoverageEligibilityResponse.error`.
pub fn error(x: &Rejection) -> Value {
    let mut coding = vec![REJECT_REASON.coding(&x.reason)];
    if !x.follow_up.is_empty() {
        coding.push(FOLLOW_UP_ACTION.coding(&x.follow_up));
    }
    let follow = if x.follow_up.is_empty() {
        String::new()
    } else {
        format!("; follow-up: {}", FOLLOW_UP_ACTION.describe(&x.follow_up))
    };
    json!({"code": {"coding": coding, "text": format!("{} (loop {}){follow}", REJECT_REASON.describe(&x.reason), x.loop_id)}})
}

fn disposition(
    rejections: &[&Rejection],
    benefits: &[super::model::Benefit],
    corrections: &[Correction],
) -> String {
    let mut parts = Vec::new();
    if let Some(b) = benefits.iter().find(|b| {
        matches!(
            b.code.as_str(),
            "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8"
        )
    }) {
        let plan = if b.plan_description.is_empty() {
            String::new()
        } else {
            format!(": {}", b.plan_description)
        };
        let status = if b.code.as_str() <= "5" {
            "Active coverage"
        } else {
            "Inactive coverage"
        };
        parts.push(format!("{status}{plan}"));
    }
    for x in rejections {
        parts.push(format!("Rejected: {}", REJECT_REASON.describe(&x.reason)));
    }
    if !corrections.is_empty() {
        let list: Vec<String> = corrections
            .iter()
            .map(|c| format!("{} is {:?}", c.element, c.payer))
            .collect();
        parts.push(format!("The payer's record differs: {}", list.join(", ")));
    }
    if parts.is_empty() {
        parts.push("Answered".into());
    }
    parts.join(". ")
}

fn inforce(patient: Option<&Member>) -> Option<bool> {
    let codes: Vec<&str> = patient?.benefits.iter().map(|b| b.code.as_str()).collect();
    if codes
        .iter()
        .any(|c| matches!(*c, "1" | "2" | "3" | "4" | "5"))
    {
        Some(true)
    } else if codes.iter().any(|c| matches!(*c, "6" | "7" | "8")) {
        Some(false)
    } else {
        None
    }
}

/// DTP 291/307 ranges, else 346/356 (begin) and 347/357 (end), on the patient's name loop,
/// else on the subscriber's.
fn benefit_period(m: &Member, subscriber: Option<&Member>) -> Option<Value> {
    let find = |dates: &[DateValue]| -> Option<Value> {
        let by = |q: &[&str]| dates.iter().find(|d| q.contains(&d.qualifier.as_str()));
        let mut p = json!({});
        if let Some(d) = by(&["291", "307"]).filter(|d| d.format == "RD8") {
            p["start"] = json!(x12_to_date(d.start())?);
            p["end"] = json!(x12_to_date(d.end())?);
            return Some(p);
        }
        if let Some(s) = by(&["346", "356", "291", "307"]).and_then(|d| x12_to_date(d.start())) {
            p["start"] = json!(s);
        }
        if let Some(e) = by(&["347", "357"]).and_then(|d| x12_to_date(d.end())) {
            p["end"] = json!(e);
        }
        p.as_object().is_some_and(|o| !o.is_empty()).then_some(p)
    };
    find(&m.dates).or_else(|| subscriber.and_then(|s| find(&s.dates)))
}

fn confirmed_coverage(
    e: &Eligibility,
    ctx: &ResponseContext,
    insurer: &Value,
    inforce: Option<bool>,
    period: Option<Value>,
) -> Value {
    let mut c = json!({"resourceType": "Coverage", "status": if inforce == Some(false) { "cancelled" } else { "active" }});
    let benefits = e
        .patient()
        .map(|m| m.benefits.as_slice())
        .unwrap_or_default();
    if let Some(t) = benefits
        .iter()
        .map(|b| b.insurance_type.as_str())
        .find(|t| !t.is_empty())
    {
        c["type"] = json!({"coding": [INSURANCE_TYPE.coding(t)]});
    }
    if let Some(s) = &e.subscriber {
        if e.dependent.is_none() {
            c["subscriber"] = ctx.patient.clone();
        }
        if !s.name.id.is_empty() {
            c["subscriberId"] = json!(s.name.id);
        }
    }
    c["beneficiary"] = ctx.patient.clone();
    let relationship = match e
        .dependent
        .as_ref()
        .and_then(|d| d.relationship.as_ref())
        .map(|r| r.relationship.as_str())
    {
        None => "self",
        Some("01") => "spouse",
        Some("19") => "child",
        Some(_) => "other",
    };
    c["relationship"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": relationship}]});
    if let Some(p) = period {
        c["period"] = p;
    }
    c["payor"] = Value::Array(vec![insurer.clone()]);
    let mut classes = Vec::new();
    let refs = e.subscriber.iter().flat_map(|s| s.name.references.iter());
    let plan_name = benefits
        .iter()
        .map(|b| b.plan_description.as_str())
        .find(|p| !p.is_empty());
    let class = |kind: &str, value: &str, name: Option<&str>| {
        let mut v = json!({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": kind}]}, "value": value});
        if let Some(n) = name {
            v["name"] = json!(n);
        }
        v
    };
    let refs: Vec<&(String, String)> = refs.collect();
    if let Some((_, g)) = refs.iter().find(|(q, _)| q == "6P" || q == "1L") {
        classes.push(class("group", g, None));
    }
    match (
        refs.iter()
            .find(|(q, _)| q == "18")
            .map(|(_, v)| v.as_str()),
        plan_name,
    ) {
        (Some(v), n) => classes.push(class("plan", v, n)),
        (None, Some(n)) => classes.push(class("plan", n, Some(n))),
        (None, None) => {}
    }
    if !classes.is_empty() {
        c["class"] = Value::Array(classes);
    }
    c
}

fn member_patient(m: &Member, payer: &str) -> Value {
    let n = &m.name;
    let mut p = json!({"resourceType": "Patient"});
    if !n.id.is_empty() {
        let mut id = typed_identifier("MB", &n.id);
        id["assigner"] = json!({"display": payer});
        p["identifier"] = json!([id]);
    }
    p["name"] = json!([human_name(&n.last_or_org, &n.first, &n.middle, &n.suffix)]);
    if let Some(g) = x12_to_gender(&m.gender) {
        p["gender"] = json!(g);
    }
    if let Some(b) = x12_to_date(&m.birth_date) {
        p["birthDate"] = json!(b);
    }
    if let Some(a) = &n.address {
        p["address"] = json!([fhir_address(a)]);
    }
    p
}

/// Reads one demographic value of a member.
type Getter = fn(&Member) -> &str;

fn corrections(answer: &Member, sent: Option<&Member>) -> Vec<Correction> {
    let mut out = Vec::new();
    let sent_values = |f: fn(&Member) -> &str| sent.map(f).unwrap_or("");
    let checks: [(&'static str, Getter); 5] = [
        ("name.family", |m| &m.name.last_or_org),
        ("name.given", |m| &m.name.first),
        ("birthDate", |m| &m.birth_date),
        ("gender", |m| &m.gender),
        ("identifier", |m| &m.name.id),
    ];
    let flagged = answer
        .relationship
        .as_ref()
        .is_some_and(|r| r.maintenance_type == "001" && r.maintenance_reason == "25");
    for (element, get) in checks {
        let (was, now) = (sent_values(get), get(answer));
        if now.is_empty() || (was.is_empty() && !flagged) {
            continue;
        }
        if !was.eq_ignore_ascii_case(now) {
            let shown = |v: &str| match element {
                "birthDate" => x12_to_date(v).unwrap_or_else(|| v.to_owned()),
                "gender" => x12_to_gender(v).unwrap_or(v).to_owned(),
                _ => v.to_owned(),
            };
            out.push(Correction {
                element,
                sent: shown(was),
                payer: shown(now),
            });
        }
    }
    out
}
