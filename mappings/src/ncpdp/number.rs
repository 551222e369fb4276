//! Decimal text ⇄ JSON numbers without rounding (the workspace enables serde_json's
//! `arbitrary_precision`, so `30.000` stays `30.000`).

use serde_json::Value;

/// A JSON number for SCRIPT decimal text (`30`, `2.5`, `.5`, `+1`, `0030`); `None` for
/// anything else (empty, exponent, letters).
pub fn decimal(text: &str) -> Option<Value> {
    let t = text.trim();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !ok(int)
        || frac.is_some_and(|f| f.is_empty() || !ok(f))
        || (int.is_empty() && frac.is_none())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let normal = match frac {
        Some(f) => format!("{sign}{int}.{f}"),
        None => format!("{sign}{int}"),
    };
    serde_json::from_str(&normal).ok()
}

/// The exact decimal text of a JSON number (or of a string holding one); `None` otherwise.
pub fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => decimal(s).map(|d| d.to_string()),
        _ => None,
    }
}

/// A non-negative integer JSON value from text (`NumberOfRefills`, `DaysSupply` …).
pub fn integer(text: &str) -> Option<Value> {
    let t = text.trim();
    let t = t.trim_start_matches('0');
    let t = if t.is_empty() && !text.trim().is_empty() {
        "0"
    } else {
        t
    };
    (!t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| serde_json::from_str(t).ok())
        .flatten()
}
