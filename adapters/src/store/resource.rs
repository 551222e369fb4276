//! Resources as JSON values: parsing request bodies (400 with line and column, or with the
//! validation issues), stamping
//! `id` and `meta` while keeping every other element exactly as received (decimals keep
//! their digits through `serde_json`'s `arbitrary_precision`), and timestamps.

use http::StatusCode;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::macros::format_description;

use super::answer::{Answer, Body};
use fhirgate_conformance::depth::MAX_DEPTH;
use fhirgate_conformance::validate::validate;
use fhirgate_conformance::{IssueCode, operation_outcome};

/// Parses a resource body; 400 OperationOutcome with line and column when it is not JSON,
/// not an object, or not of `expected_type` (when given).
pub(crate) fn parse(body: &[u8], expected_type: Option<&str>) -> Result<Value, Answer> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Required,
            "the request has no body; a FHIR resource in JSON is required",
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Structure,
            format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    if let Some(path) = control_character(&value, "") {
        return Err(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Value,
            format!(
                "{path} holds a control character; FHIR strings allow only tab, CR and LF below U+0020"
            ),
        ));
    }
    check_type(value, expected_type)
}

/// The path of the first string holding a character below U+0020 other than tab, CR, LF
/// (FHIR R4 §2.24.0.1 "string"), if any.
pub(crate) fn control_character(value: &Value, path: &str) -> Option<String> {
    let bad = |s: &str| {
        s.chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\r' | '\n'))
    };
    match value {
        Value::String(s) if bad(s) => Some(if path.is_empty() {
            "a value".into()
        } else {
            path.to_owned()
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if bad(k) {
                return Some(format!("{path}/<key>"));
            }
            control_character(v, &format!("{path}/{k}"))
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| control_character(v, &format!("{path}/{i}"))),
        _ => None,
    }
}

/// Checks that `value` is a resource object, of `expected_type` when given, nested at most
/// [`MAX_DEPTH`] levels (400 `too-costly`: what the gateway's post-filter can read back
/// inside an answer, `fhirgate_conformance::depth`; every write, also a patch's result
/// and each batch or transaction entry, passes here), and valid
/// ([`fhirgate_conformance::validate`]: FHIR R4 http.html §3.1.0.4, "400 Bad Request -
/// resource could not be parsed or failed basic FHIR validation rules"; one issue per
/// problem, each with its FHIRPath expression).
pub(crate) fn check_type(value: Value, expected_type: Option<&str>) -> Result<Value, Answer> {
    let found = value
        .get("resourceType")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match (found, expected_type) {
        (None, _) => Err(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Structure,
            "the body is not a FHIR resource: no resourceType",
        )),
        (Some(found), Some(expected)) if found != expected => Err(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("resourceType '{found}' does not match the request's type '{expected}'"),
        )),
        (Some(_), _) if fhirgate_conformance::depth::depth(&value) > MAX_DEPTH => {
            Err(Answer::error(
                StatusCode::BAD_REQUEST,
                IssueCode::TooCostly,
                format!(
                    "the resource nests arrays and objects more than {MAX_DEPTH} levels deep; deeper content could not be checked against access grants when it is read back"
                ),
            ))
        }
        (Some(_), _) => {
            let issues = validate(&value);
            if issues.is_empty() {
                Ok(value)
            } else {
                Err(Answer::new(
                    StatusCode::BAD_REQUEST,
                    Body::Json(operation_outcome(&issues)),
                ))
            }
        }
    }
}

/// Sets `id`, `meta.versionId` and `meta.lastUpdated`, keeping the other `meta` elements
/// and every other element as received; `resourceType`, `id`, `meta` come first.
pub(crate) fn stamp(resource: &mut Value, id: &str, version: i64, last_updated: &str) {
    let Value::Object(map) = resource else {
        return;
    };
    let old = std::mem::take(map);
    let mut meta = match old.get("meta") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    meta.shift_remove("versionId");
    meta.shift_remove("lastUpdated");
    let mut new_meta = Map::new();
    new_meta.insert("versionId".into(), Value::String(version.to_string()));
    new_meta.insert("lastUpdated".into(), Value::String(last_updated.to_owned()));
    new_meta.extend(meta);
    if let Some(rt) = old.get("resourceType") {
        map.insert("resourceType".into(), rt.clone());
    }
    map.insert("id".into(), Value::String(id.to_owned()));
    map.insert("meta".into(), Value::Object(new_meta));
    for (k, v) in old {
        if !matches!(k.as_str(), "resourceType" | "id" | "meta") {
            map.insert(k, v);
        }
    }
}

/// The current time as microseconds since the epoch and as a FHIR `instant`
/// (`2026-01-02T03:04:05.123456Z`).
pub(crate) fn now() -> (i64, String) {
    let now = OffsetDateTime::now_utc();
    let micros = i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(0);
    (micros, instant(micros))
}

/// Formats microseconds since the epoch as a FHIR `instant` in UTC.
pub(crate) fn instant(micros: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .unwrap_or_default()
}

/// Formats microseconds since the epoch as an HTTP-date (RFC 9110 §5.6.7) for
/// `Last-Modified`.
pub(crate) fn http_date(micros: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(micros.div_euclid(1_000_000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    ))
    .unwrap_or_default()
}

/// The version a weak or strong ETag names (`W/"3"`, `"3"`, `3`).
pub(crate) fn etag_version(etag: &str) -> Option<i64> {
    let t = etag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"').parse().ok()
}
