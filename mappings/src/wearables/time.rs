//! Time frames: `Observation.effective[x]` as `effectiveDateTime` or `effectivePeriod`.
//!
//! Offsets are kept exactly as the source gives them: an RFC 3339 source string is copied
//! verbatim (after checking it parses); HealthKit's `2018-09-10 02:28:55 -0700` becomes
//! `2018-09-10T02:28:55-07:00` (same instant, same offset, FHIR `dateTime` syntax). Times that
//! carry no offset (Fitbit) are placed in the caller's IANA zone; without one they keep only
//! their date (FHIR allows a date-precision `dateTime`), never the host's zone.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// `Observation.effective[x]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effective {
    /// `effectiveDateTime`.
    DateTime(String),
    /// `effectivePeriod` (`start`, `end`).
    Period(String, String),
}

impl Effective {
    /// A canonical text for identifiers and messages (`start/end` for a period).
    pub fn key(&self) -> String {
        match self {
            Self::DateTime(t) => t.clone(),
            Self::Period(s, e) => format!("{s}/{e}"),
        }
    }
}

/// `text` is an RFC 3339 date-time with an offset; returns it unchanged.
pub fn rfc3339(text: &str) -> Result<String, String> {
    text.parse::<Timestamp>()
        .map(|_| text.to_owned())
        .map_err(|_| format!("{text:?} is not an RFC 3339 date-time with an offset"))
}

/// The offset an RFC 3339 string was written with (`Z` → UTC).
fn offset_of(text: &str) -> Result<Offset, String> {
    if text.ends_with(['Z', 'z']) {
        return Ok(Offset::UTC);
    }
    let tail = text.get(text.len().saturating_sub(6)..).unwrap_or("");
    let bad = || format!("{text:?} has no numeric offset");
    let sign = match tail.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let h: i32 = tail
        .get(1..3)
        .and_then(|h| h.parse().ok())
        .ok_or_else(bad)?;
    let m: i32 = tail
        .get(4..6)
        .and_then(|m| m.parse().ok())
        .ok_or_else(bad)?;
    Offset::from_seconds(sign * (h * 3600 + m * 60)).map_err(|_| bad())
}

/// Writes `ts` in the fixed `offset` as FHIR `dateTime` (`Z` for UTC when `zulu`).
fn write(ts: Timestamp, offset: Offset, zulu: bool) -> String {
    let dt = offset.to_datetime(ts);
    format!("{dt}{}", suffix(offset, zulu))
}

fn suffix(offset: Offset, zulu: bool) -> String {
    let s = offset.seconds();
    if s == 0 && zulu {
        return "Z".into();
    }
    let sign = if s < 0 { '-' } else { '+' };
    let a = s.abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// `start` + `seconds`, written in `start`'s own offset.
pub fn add_seconds(start: &str, seconds: f64) -> Result<String, String> {
    let ts: Timestamp = start
        .parse()
        .map_err(|_| format!("bad date-time {start:?}"))?;
    let d = SignedDuration::try_from_secs_f64(seconds).map_err(|e| e.to_string())?;
    let end = ts.checked_add(d).map_err(|e| e.to_string())?;
    Ok(write(end, offset_of(start)?, start.ends_with(['Z', 'z'])))
}

/// `end` − `seconds`, written in `end`'s own offset.
pub fn sub_seconds(end: &str, seconds: f64) -> Result<String, String> {
    add_seconds(end, -seconds)
}

/// Seconds from `start` to `end` (both RFC 3339).
pub fn seconds_between(start: &str, end: &str) -> Result<f64, String> {
    let s: Timestamp = start
        .parse()
        .map_err(|_| format!("bad date-time {start:?}"))?;
    let e: Timestamp = end.parse().map_err(|_| format!("bad date-time {end:?}"))?;
    Ok(e.duration_since(s).as_secs_f64())
}

/// HealthKit `YYYY-MM-DD HH:MM:SS ±HHMM` → `YYYY-MM-DDTHH:MM:SS±HH:MM` (offset kept).
pub fn healthkit(text: &str) -> Result<String, String> {
    if let Some(out) = healthkit_exact(text.as_bytes()) {
        return Ok(out);
    }
    let bad = || format!("{text:?} is not a HealthKit date (YYYY-MM-DD HH:MM:SS ±HHMM)");
    let mut parts = text.split(' ');
    let (Some(d), Some(t), Some(o), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if o.len() != 5 || !o.starts_with(['+', '-']) {
        return Err(bad());
    }
    let out = format!("{d}T{t}{}:{}", &o[..3], &o[3..]);
    rfc3339(&out).map_err(|_| bad())
}

/// The fast path of [`healthkit`] for the exact 25-byte shape Apple writes: checks digits
/// and ranges (the day against its month, leap years included; seconds 00–59; offset at
/// most ±14:00) and rearranges the bytes, without a general parser. `None` sends anything
/// else (fractions, leap seconds, odd spacing, invalid dates) to the general path, which
/// accepts or refuses it as before.
fn healthkit_exact(b: &[u8]) -> Option<String> {
    const SHAPE: &[u8; 25] = b"dddd-dd-dd dd:dd:dd sdddd";
    if b.len() != SHAPE.len() {
        return None;
    }
    for (&c, &s) in b.iter().zip(SHAPE) {
        let ok = match s {
            b'd' => c.is_ascii_digit(),
            b's' => c == b'+' || c == b'-',
            _ => c == s,
        };
        if !ok {
            return None;
        }
    }
    let n = |i: usize, len: usize| {
        b[i..i + len]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (n(0, 4), n(5, 2), n(8, 2));
    let (hour, minute, second) = (n(11, 2), n(14, 2), n(17, 2));
    let (oh, om) = (n(21, 2), n(23, 2));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    let offset_ok = (oh < 14 && om < 60) || (oh == 14 && om == 0);
    if year == 0 || day == 0 || day > days || hour > 23 || minute > 59 || second > 59 || !offset_ok
    {
        return None;
    }
    let mut out = Vec::with_capacity(25);
    out.extend_from_slice(&b[..10]);
    out.push(b'T');
    out.extend_from_slice(&b[11..19]);
    out.extend_from_slice(&b[20..23]);
    out.push(b':');
    out.extend_from_slice(&b[23..25]);
    String::from_utf8(out).ok()
}

/// A local date-time without offset (`2016-12-13T09:59:00.000`) placed in `zone`; `None`
/// zone keeps the date only. Ambiguous local times (DST fold) take the earlier offset and
/// times in a DST gap move forward (jiff's "compatible" rule, as RFC 5545 does).
pub fn local(text: &str, zone: Option<&TimeZone>) -> Result<String, String> {
    let dt: DateTime = text
        .parse()
        .map_err(|_| format!("{text:?} is not a local date-time"))?;
    match zone {
        None => Ok(dt.date().to_string()),
        Some(tz) => {
            let zdt = dt.to_zoned(tz.clone()).map_err(|e| e.to_string())?;
            Ok(write(zdt.timestamp(), zdt.offset(), false))
        }
    }
}

/// The IANA zone `name` from the tz database bundled in the binary (no filesystem lookup).
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("unknown IANA time zone {name:?}"))
}
