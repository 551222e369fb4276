//! v2 units (OBX-6, RXE-5, RXE-11 …) → UCUM, as data, and v2 NM → exact FHIR decimals.
//!
//! A unit whose CWE-3 coding system is `UCUM` is taken as the UCUM code as is. Otherwise the
//! code (then the text) is looked up in [`UCUM`]: common lab, vital-sign and medication
//! units as senders write them (ISO+/ANSI+ names such as `tera.l-1`, legacy spellings such
//! as `mg/hr`). An unknown unit keeps its text in `Quantity.unit` with no code, and the
//! mapping warns. Values are never converted.

use serde_json::{Map, Value, json};

/// Source unit → UCUM code.
pub const UCUM: &[(&str, &str)] = &[
    ("%", "%"),
    ("tera.l-1", "10*12/L"),
    ("giga.l-1", "10*9/L"),
    ("mega.l-1", "10*6/L"),
    ("10*12/L", "10*12/L"),
    ("10*9/L", "10*9/L"),
    ("x10E12/L", "10*12/L"),
    ("x10E9/L", "10*9/L"),
    ("10^3/uL", "10*3/uL"),
    ("10*3/uL", "10*3/uL"),
    ("K/uL", "10*3/uL"),
    ("10^6/uL", "10*6/uL"),
    ("M/uL", "10*6/uL"),
    ("beats/min", "/min"),
    ("bpm", "/min"),
    ("/min", "/min"),
    ("breaths/min", "/min"),
    ("mmHg", "mm[Hg]"),
    ("mm[Hg]", "mm[Hg]"),
    ("kg", "kg"),
    ("g", "g"),
    ("mg", "mg"),
    ("ug", "ug"),
    ("mcg", "ug"),
    ("lb", "[lb_av]"),
    ("lbs", "[lb_av]"),
    ("cm", "cm"),
    ("m", "m"),
    ("mm", "mm"),
    ("in", "[in_i]"),
    ("Cel", "Cel"),
    ("degC", "Cel"),
    ("C", "Cel"),
    ("degF", "[degF]"),
    ("F", "[degF]"),
    ("g/dL", "g/dL"),
    ("g/L", "g/L"),
    ("mg/dL", "mg/dL"),
    ("mg/L", "mg/L"),
    ("ug/L", "ug/L"),
    ("ng/mL", "ng/mL"),
    ("pg/mL", "pg/mL"),
    ("mmol/L", "mmol/L"),
    ("umol/L", "umol/L"),
    ("mEq/L", "meq/L"),
    ("meq/L", "meq/L"),
    ("U/L", "U/L"),
    ("IU/L", "[IU]/L"),
    ("IU/mL", "[IU]/mL"),
    ("IU/ml", "[IU]/mL"),
    ("[IU]/mL", "[IU]/mL"),
    ("fL", "fL"),
    ("fl", "fL"),
    ("pg", "pg"),
    ("mL", "mL"),
    ("ml", "mL"),
    ("L", "L"),
    ("mL/min", "mL/min"),
    ("mL/hr", "mL/h"),
    ("mL/h", "mL/h"),
    ("mg/hr", "mg/h"),
    ("mg/h", "mg/h"),
    ("kg/m2", "kg/m2"),
    ("s", "s"),
    ("sec", "s"),
    ("min", "min"),
    ("h", "h"),
    ("hr", "h"),
    ("d", "d"),
    ("wk", "wk"),
    ("mo", "mo"),
    ("a", "a"),
    ("yr", "a"),
];

/// UCUM, the system of `Quantity.system`.
pub const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";

/// A v2 unit (code, text, coding system) → `(UCUM code, display)`; `None` code when unknown.
pub fn ucum(code: Option<&str>, text: Option<&str>, system: Option<&str>) -> Option<String> {
    if system == Some("UCUM") {
        return code.map(str::to_owned);
    }
    [code, text].into_iter().flatten().find_map(|u| {
        UCUM.iter()
            .find(|(s, _)| *s == u)
            .map(|(_, c)| (*c).to_owned())
    })
}

/// v2 NM (`[+|-]digits[.digits]`, leading zeros allowed) → an exact FHIR decimal text.
pub fn decimal(nm: &str) -> Option<String> {
    let t = nm.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if neg { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// A FHIR Quantity for `value` (FHIR decimal text) in the unit `(code, text, system)`;
/// `unknown` receives the unit text when it has no UCUM code.
pub fn quantity(
    value: &str,
    unit: (Option<&str>, Option<&str>, Option<&str>),
    unknown: &mut Vec<String>,
) -> Option<Value> {
    let number = crate::wearables::units::number(value)?;
    let mut q = Map::new();
    q.insert("value".into(), Value::Number(number));
    let (code, text, system) = unit;
    if let Some(display) = text.or(code) {
        q.insert("unit".into(), json!(display));
        match ucum(code, text, system) {
            Some(c) => {
                q.insert("system".into(), json!(UCUM_SYSTEM));
                q.insert("code".into(), json!(c));
            }
            None => unknown.push(display.to_owned()),
        }
    }
    Some(Value::Object(q))
}
