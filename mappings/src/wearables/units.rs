//! Source units → UCUM codes, as data, and exact decimal handling of values.
//!
//! Unit rules (UCUM <https://ucum.org/ucum>; the vital-signs profile's value sets,
//! <http://hl7.org/fhir/R4/observation-vitalsigns.html>):
//! - Values are **kept in the unit the source gives** and never converted: `lb` becomes
//!   `[lb_av]` and `F`/`degF` becomes `[degF]`, both allowed by the bodyweight and bodytemp
//!   profiles' unit value sets. Converting would add rounding a clinician did not see.
//! - The one conversion is HealthKit oxygen saturation, which HealthKit exports as a fraction
//!   (`0.97` with unit `%`); it is scaled by 100 exactly, by moving the decimal point.
//! - HealthKit's molar glucose unit `mmol<180.15588000005408>/L` (molar mass annotated) is
//!   `mmol/L`.
//! - A unit not in the table for its measure is refused ([`crate::MappingError::UnknownUnit`]).

/// One unit rule: for `measure` (the Open mHealth schema name), the source unit `source`
/// is the UCUM code `ucum`.
pub type UnitRule = (&'static str, &'static str, &'static str);

/// Open mHealth unit strings (the schemas' `*-unit-value` enums).
pub static OMH: &[UnitRule] = &[
    ("heart-rate", "beats/min", "/min"),
    ("respiratory-rate", "breaths/min", "/min"),
    ("oxygen-saturation", "%", "%"),
    ("body-temperature", "C", "Cel"),
    ("body-temperature", "F", "[degF]"),
    ("body-weight", "kg", "kg"),
    ("body-weight", "g", "g"),
    ("body-weight", "lb", "[lb_av]"),
    ("blood-pressure", "mmHg", "mm[Hg]"),
    ("step-count", "steps", "{steps}"),
    ("blood-glucose", "mg/dL", "mg/dL"),
    ("blood-glucose", "mmol/L", "mmol/L"),
    ("duration", "sec", "s"),
    ("duration", "min", "min"),
    ("duration", "h", "h"),
    ("duration", "d", "d"),
    ("length", "m", "m"),
    ("length", "km", "km"),
    ("length", "mi", "[mi_i]"),
    ("length", "ft", "[ft_i]"),
    ("length", "yd", "[yd_i]"),
    ("energy", "kcal", "kcal"),
    ("flow", "L/min", "L/min"),
    ("percent", "%", "%"),
];

/// Apple HealthKit export units (`Record/@unit`), keyed by our measure name.
pub static HEALTHKIT: &[UnitRule] = &[
    ("heart-rate", "count/min", "/min"),
    ("respiratory-rate", "count/min", "/min"),
    ("oxygen-saturation", "%", "%"),
    ("body-temperature", "degC", "Cel"),
    ("body-temperature", "degF", "[degF]"),
    ("body-weight", "kg", "kg"),
    ("body-weight", "g", "g"),
    ("body-weight", "lb", "[lb_av]"),
    ("body-mass-index", "count", "kg/m2"),
    ("blood-pressure", "mmHg", "mm[Hg]"),
    ("step-count", "count", "{steps}"),
    ("blood-glucose", "mg/dL", "mg/dL"),
    ("blood-glucose", "mmol/L", "mmol/L"),
];

/// The UCUM code for `unit` of `measure` in `table`, if the rule exists.
pub fn ucum(table: &[UnitRule], measure: &str, unit: &str) -> Option<&'static str> {
    rule(table, measure, unit).map(|(_, u)| u)
}

/// The rule for `unit` of `measure` in `table`: the table's spelling of the source unit
/// (so callers can borrow it instead of copying the source's) and the UCUM code.
pub fn rule(table: &[UnitRule], measure: &str, unit: &str) -> Option<(&'static str, &'static str)> {
    let unit = if unit.starts_with("mmol<") && unit.ends_with(">/L") {
        "mmol/L"
    } else {
        unit
    };
    table
        .iter()
        .find(|(m, s, _)| *m == measure && *s == unit)
        .map(|(_, s, u)| (*s, *u))
}

/// `unit` as the source wrote it, borrowed from the table's spelling `known` when equal.
pub fn source_unit(known: &'static str, unit: &str) -> std::borrow::Cow<'static, str> {
    if known == unit {
        std::borrow::Cow::Borrowed(known)
    } else {
        std::borrow::Cow::Owned(unit.to_owned())
    }
}

/// The Open mHealth unit for a UCUM code of `measure` (reverse of [`OMH`]).
pub fn omh_unit(measure: &str, ucum: &str) -> Option<&'static str> {
    OMH.iter()
        .find(|(m, _, u)| *m == measure && *u == ucum)
        .map(|(_, s, _)| *s)
}

/// `text` is a decimal as FHIR and JSON write it (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, with an
/// optional exponent); leading zeros and `+` are not.
pub fn is_decimal(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int)
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(digits)
        && exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

/// An exact JSON number for decimal `text` (kept digit for digit: `arbitrary_precision`).
pub fn number(text: &str) -> Option<serde_json::Number> {
    if !is_decimal(text) {
        return None;
    }
    text.parse().ok()
}

/// `text` × 100, exactly, by moving the decimal point (`0.97` → `97`, `0.985` → `98.5`).
/// `None` for exponent notation or a non-decimal.
pub fn times_hundred(text: &str) -> Option<String> {
    if !is_decimal(text) || text.contains(['e', 'E']) {
        return None;
    }
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut frac = frac.to_owned();
    while frac.len() < 2 {
        frac.push('0');
    }
    let digits = format!("{int}{}", &frac[..2]);
    let rest = frac[2..].trim_end_matches('0');
    let int = digits.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if neg && (int != "0" || !rest.is_empty()) {
        "-"
    } else {
        ""
    };
    Some(if rest.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{rest}")
    })
}
