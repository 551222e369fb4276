//! `CoverageEligibilityResponse.insurance` → 271 EB loops: `inforce` → EB*1/EB*6 with the
//! Coverage's plan and insurance type; each item benefit → one EB (EB01 from the X12 1390
//! coding or the FHIR benefit-type, EB02 unit, EB03 category, EB05 name, EB06 term, EB07
//! amount in US dollars, EB08 percent, EB09/EB10 quantity, EB11, EB12 network, EB13
//! product, MSG description).

use serde_json::Value;

use crate::MappingError;
use crate::x12::codes::{COVERAGE_LEVEL, ELIGIBILITY_OR_BENEFIT, INSURANCE_TYPE, TIME_PERIOD};
use crate::x12::eligibility::benefits::{
    BENEFIT_NETWORK, BENEFIT_TERM, BENEFIT_TYPE, BENEFIT_TYPES_BACK, BENEFIT_UNIT, TERMS, UNITS,
    category_service_types,
};
use crate::x12::eligibility::fhir::{CPT_SYSTEM, HCPCS_SYSTEM, codes, text};
use crate::x12::eligibility::model::Benefit;

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

pub(super) fn benefits(
    response: &Value,
    coverage: Option<&Value>,
) -> Result<Vec<Benefit>, MappingError> {
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
