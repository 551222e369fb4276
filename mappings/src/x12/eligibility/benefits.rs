//! One EB loop (271 2110C/2110D) → `CoverageEligibilityResponse.insurance.item`s: one item
//! per EB03 service type (an EB without EB03 gives one item without a category).
//!
//! EB01 → `benefit.type` (X12 1390 coding, plus the FHIR `benefit-type` code where one
//! means the same: `A` copay-percent, `B` copay, `C` deductible; `visit` for VS quantities);
//! EB02 → `unit` (`individual`/`family`, else the X12 1207 code); EB06 → `term` (`annual`,
//! `day`, `lifetime` where they fit, with the X12 615 code); EB07 → `allowedMoney` (USD,
//! decimal exactly as sent); EB08 → `allowedUnsignedInt` percent (or `allowedString`);
//! EB10 → `allowedUnsignedInt`; EB11 → `authorizationRequired`; EB12 → `network`
//! (`in`/`out`); EB13 → `productOrService`; EB05 → `name`; MSG and DTP → `description`;
//! 2120 NM1 → `provider`; EB01 `E`/`I` → `excluded`.

use serde_json::{Value, json};

use super::fhir::{CPT_SYSTEM, EX_BENEFIT_CATEGORY, HCPCS_SYSTEM, NPI_SYSTEM, codes, x12_to_date};
use super::model::{Benefit, Entity};
use crate::x12::codes::{
    COVERAGE_LEVEL, DATE_QUALIFIER, ELIGIBILITY_OR_BENEFIT, QUANTITY_QUALIFIER, SERVICE_TYPE,
    TIME_PERIOD, YES_NO,
};

/// FHIR benefit types (<http://terminology.hl7.org/CodeSystem/benefit-type>).
pub const BENEFIT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/benefit-type";
/// FHIR benefit networks (`in`, `out`).
pub const BENEFIT_NETWORK: &str = "http://terminology.hl7.org/CodeSystem/benefit-network";
/// FHIR benefit units (`individual`, `family`).
pub const BENEFIT_UNIT: &str = "http://terminology.hl7.org/CodeSystem/benefit-unit";
/// FHIR benefit terms (`annual`, `day`, `lifetime`).
pub const BENEFIT_TERM: &str = "http://terminology.hl7.org/CodeSystem/benefit-term";

/// EB01 ⇄ FHIR benefit-type, where the two mean the same thing.
pub const BENEFIT_TYPES: [(&str, &str); 3] =
    [("A", "copay-percent"), ("B", "copay"), ("C", "deductible")];
/// FHIR benefit-type → EB01 for answers (more FHIR codes than the forward table): `visit`
/// and `benefit` (a maximum) are limitations, `copay-maximum` is the out-of-pocket limit.
pub const BENEFIT_TYPES_BACK: [(&str, &str); 6] = [
    ("A", "copay-percent"),
    ("B", "copay"),
    ("C", "deductible"),
    ("F", "visit"),
    ("F", "benefit"),
    ("G", "copay-maximum"),
];
/// FHIR example benefit categories that are not X12 service type codes → the closest one
/// (F1 medical → 30, F3 dental → 35, F4 hearing → 71, F6 vision → AL).
pub const CATEGORY_COVERAGES: [(&str, &str); 4] =
    [("30", "F1"), ("35", "F3"), ("71", "F4"), ("AL", "F6")];
/// EB02 ⇄ FHIR benefit-unit.
pub const UNITS: [(&str, &str); 2] = [("IND", "individual"), ("FAM", "family")];
/// EB06 → FHIR benefit-term (the reverse uses the first match).
pub const TERMS: [(&str, &str); 4] = [
    ("23", "annual"),
    ("22", "annual"),
    ("7", "day"),
    ("32", "lifetime"),
];

/// The X12 service type codes of an `item.category`: codings of system 1365, and of the
/// FHIR example benefit categories (which reuse them, plus F1/F3/F4/F6, mapped to 30, 35,
/// 71 and AL). Unknown codes are dropped.
pub fn category_service_types(category: &Value) -> Vec<String> {
    let example = codes(category, EX_BENEFIT_CATEGORY).into_iter().map(|c| {
        CATEGORY_COVERAGES
            .iter()
            .find(|(_, f)| *f == c)
            .map_or(c, |(x, _)| *x)
    });
    codes(category, SERVICE_TYPE.system)
        .into_iter()
        .chain(example)
        .filter(|c| SERVICE_TYPE.contains(c))
        .map(str::to_owned)
        .collect()
}

fn lookup<'a>(table: &[(&'a str, &'a str)], x12: &str) -> Option<&'a str> {
    table.iter().find(|(x, _)| *x == x12).map(|(_, f)| *f)
}

fn concept(x12: Value, fhir: Option<(&str, &str)>) -> Value {
    let mut coding = vec![x12];
    if let Some((system, code)) = fhir {
        coding.push(json!({"system": system, "code": code}));
    }
    let mut c = serde_json::Map::new();
    c.insert("coding".into(), Value::Array(coding));
    Value::Object(c)
}

/// A decimal as written (`10.00` stays `10.00`: the workspace keeps arbitrary precision).
fn decimal(text: &str) -> Option<Value> {
    let ok = !text.is_empty()
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && text
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
        && text
            .trim_start_matches('-')
            .bytes()
            .any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let normal = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_owned()
    };
    serde_json::from_str::<Value>(&normal)
        .ok()
        .filter(Value::is_number)
}

/// EB08 `.2` → 20 (whole percent only; else `None`).
pub fn whole_percent(fraction: &str) -> Option<u64> {
    let (int, frac) = fraction.split_once('.').unwrap_or((fraction, ""));
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 && frac[2..].bytes().any(|b| b != b'0') {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let hundredths: u64 = format!("{:0<2}", frac.get(..2).unwrap_or(frac))
        .parse()
        .ok()?;
    Some(whole * 100 + hundredths)
}

fn allowed(b: &Benefit) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if let Some(v) = decimal(&b.amount) {
        out.push(("allowedMoney", json!({"value": v, "currency": "USD"})));
    } else if !b.amount.is_empty() {
        out.push(("allowedString", json!(b.amount)));
    }
    if !b.percent.is_empty() {
        match whole_percent(&b.percent) {
            Some(p) => out.push(("allowedUnsignedInt", json!(p))),
            None => out.push(("allowedString", json!(format!("{} (fraction)", b.percent)))),
        }
    }
    if !b.quantity.is_empty() {
        match b.quantity.parse::<u64>() {
            Ok(q) => out.push(("allowedUnsignedInt", json!(q))),
            Err(_) => out.push(("allowedString", json!(b.quantity))),
        }
    }
    out
}

fn benefit_entries(b: &Benefit) -> Vec<Value> {
    let fhir_type = lookup(&BENEFIT_TYPES, &b.code)
        .or((b.quantity_qualifier == "VS").then_some("visit"))
        .map(|c| (BENEFIT_TYPE, c));
    let mut kind = concept(ELIGIBILITY_OR_BENEFIT.coding(&b.code), fhir_type);
    if !b.quantity_qualifier.is_empty() {
        kind["text"] = json!(format!(
            "{}: {}",
            ELIGIBILITY_OR_BENEFIT.display(&b.code).unwrap_or(&b.code),
            QUANTITY_QUALIFIER
                .display(&b.quantity_qualifier)
                .unwrap_or(&b.quantity_qualifier)
        ));
    }
    let amounts = allowed(b);
    if amounts.is_empty() {
        let mut e = json!({});
        e["type"] = kind;
        return vec![e];
    }
    amounts
        .into_iter()
        .map(|(key, value)| {
            let mut e = json!({});
            e["type"] = kind.clone();
            e[key] = value;
            e
        })
        .collect()
}

/// A 2120 NM1 as a Reference (NPI when NM108 is `XX`) with its name as `display`.
fn provider(e: &Entity) -> Value {
    let display = if e.person {
        [e.first.as_str(), e.middle.as_str(), e.last_or_org.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        e.last_or_org.clone()
    };
    let mut r = json!({ "display": display });
    if !e.id.is_empty() {
        r["identifier"] = if e.id_qualifier == "XX" {
            json!({"system": NPI_SYSTEM, "value": e.id})
        } else {
            json!({"value": e.id})
        };
    }
    r
}

fn description(b: &Benefit) -> Option<String> {
    let mut parts: Vec<String> = b.messages.clone();
    for d in &b.dates {
        let what = DATE_QUALIFIER.display(&d.qualifier).unwrap_or(&d.qualifier);
        let when = match (x12_to_date(d.start()), x12_to_date(d.end())) {
            (Some(s), Some(e)) if s != e => format!("{s} to {e}"),
            (Some(s), _) => s,
            _ => d.value.clone(),
        };
        parts.push(format!("{what}: {when}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The items of one EB loop (see the module docs).
pub fn eb_to_items(b: &Benefit) -> Vec<Value> {
    let mut item = json!({});
    if let Some((q, code)) = &b.procedure {
        let system = if code.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            CPT_SYSTEM
        } else {
            HCPCS_SYSTEM
        };
        item["productOrService"] =
            json!({"coding": [{"system": system, "code": code}], "text": format!("{q}:{code}")});
    }
    if let Some(p) = b.related.first() {
        item["provider"] = provider(p);
    }
    if matches!(b.code.as_str(), "E" | "I") {
        item["excluded"] = json!(true);
    }
    if !b.plan_description.is_empty() {
        item["name"] = json!(b.plan_description);
    }
    if let Some(d) = description(b) {
        item["description"] = json!(d);
    }
    match b.in_network.as_str() {
        "Y" => item["network"] = concept(YES_NO.coding("Y"), Some((BENEFIT_NETWORK, "in"))),
        "N" => item["network"] = concept(YES_NO.coding("N"), Some((BENEFIT_NETWORK, "out"))),
        "" => {}
        other => item["network"] = concept(YES_NO.coding(other), None),
    }
    if !b.coverage_level.is_empty() {
        item["unit"] = concept(
            COVERAGE_LEVEL.coding(&b.coverage_level),
            lookup(&UNITS, &b.coverage_level).map(|c| (BENEFIT_UNIT, c)),
        );
    }
    if !b.time_period.is_empty() {
        item["term"] = concept(
            TIME_PERIOD.coding(&b.time_period),
            lookup(&TERMS, &b.time_period).map(|c| (BENEFIT_TERM, c)),
        );
    }
    item["benefit"] = Value::Array(benefit_entries(b));
    match b.authorization_required.as_str() {
        "Y" => item["authorizationRequired"] = json!(true),
        "N" => item["authorizationRequired"] = json!(false),
        _ => {}
    }
    if b.service_types.is_empty() {
        return vec![item];
    }
    b.service_types
        .iter()
        .map(|stc| {
            let mut one = json!({"category": {"coding": [SERVICE_TYPE.coding(stc)]}});
            if let (Some(o), Some(rest)) = (one.as_object_mut(), item.as_object()) {
                o.extend(rest.clone());
            }
            one
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_fractions_become_whole_percent_when_exact() {
        assert_eq!(whole_percent(".2"), Some(20));
        assert_eq!(whole_percent("0.25"), Some(25));
        assert_eq!(whole_percent("1"), Some(100));
        assert_eq!(whole_percent(".125"), None);
        assert_eq!(whole_percent("abc"), None);
        assert_eq!(
            decimal("10.00").map(|v| v.to_string()),
            Some("10.00".into())
        );
        assert_eq!(decimal(".5").map(|v| v.to_string()), Some("0.5".into()));
        assert!(decimal("1.2.3").is_none());
    }

    #[test]
    fn copay_eb_becomes_one_item_per_service_type() {
        let b = Benefit {
            code: "B".into(),
            coverage_level: "IND".into(),
            service_types: vec!["98".into(), "UC".into()],
            insurance_type: "HM".into(),
            plan_description: "GOLD 123 PLAN".into(),
            time_period: "27".into(),
            amount: "10.00".into(),
            in_network: "Y".into(),
            ..Default::default()
        };
        let items = eb_to_items(&b);
        assert_eq!(items.len(), 2);
        let i = &items[1];
        assert_eq!(i["category"]["coding"][0]["code"], "UC");
        assert_eq!(i["category"]["coding"][0]["display"], "Urgent Care");
        assert_eq!(i["benefit"][0]["type"]["coding"][1]["code"], "copay");
        assert_eq!(
            i["benefit"][0]["allowedMoney"]["value"].to_string(),
            "10.00"
        );
        assert_eq!(i["network"]["coding"][1]["code"], "in");
        assert_eq!(i["unit"]["coding"][1]["code"], "individual");
        assert_eq!(i["term"]["coding"][0]["display"], "Visit");
        assert_eq!(i["name"], "GOLD 123 PLAN");
    }
}
