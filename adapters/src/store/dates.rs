//! FHIR `date`, `dateTime` and `instant` values as half-open ranges of microseconds since
//! the Unix epoch. A value stands for the whole range its precision implies (FHIR R4
//! §3.1.1.4.7 "date": `2013-01` means all of January 2013); values with a time but no
//! offset are taken as UTC, the server's zone.

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// Lower bound for an open start (`Period` without `start`).
pub(crate) const OPEN_LOW: i64 = i64::MIN / 4;
/// Upper bound for an open end (`Period` without `end`).
pub(crate) const OPEN_HIGH: i64 = i64::MAX / 4;

const DAY_US: i64 = 86_400_000_000;

/// Reads `n` ASCII digits at `*pos`, advancing it.
fn digits(s: &[u8], pos: &mut usize, n: usize) -> Option<i64> {
    let part = s.get(*pos..*pos + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *pos += n;
    part.iter()
        .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
}

/// Consumes `c` at `*pos` if present.
fn eat(s: &[u8], pos: &mut usize, c: u8) -> bool {
    if s.get(*pos) == Some(&c) {
        *pos += 1;
        true
    } else {
        false
    }
}

fn micros(date: Date, time: Time, offset: UtcOffset) -> i64 {
    let nanos = PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .unix_timestamp_nanos();
    i64::try_from(nanos / 1000).unwrap_or(OPEN_HIGH)
}

fn month(m: i64) -> Option<Month> {
    Month::try_from(u8::try_from(m).ok()?).ok()
}

fn date_of(y: i64, m: i64, d: i64) -> Option<Date> {
    Date::from_calendar_date(i32::try_from(y).ok()?, month(m)?, u8::try_from(d).ok()?).ok()
}

/// Parses a FHIR date/dateTime/instant (also the minute precision search allows) into its
/// implicit range `[low, high)` in microseconds. `None` when it is not such a value.
pub(crate) fn parse_range(value: &str) -> Option<(i64, i64)> {
    let s = value.as_bytes();
    let mut pos = 0;
    let y = digits(s, &mut pos, 4)?;
    if pos == s.len() {
        let lo = micros(date_of(y, 1, 1)?, Time::MIDNIGHT, UtcOffset::UTC);
        let hi = micros(date_of(y + 1, 1, 1)?, Time::MIDNIGHT, UtcOffset::UTC);
        return Some((lo, hi));
    }
    if !eat(s, &mut pos, b'-') {
        return None;
    }
    let m = digits(s, &mut pos, 2)?;
    if pos == s.len() {
        let lo = micros(date_of(y, m, 1)?, Time::MIDNIGHT, UtcOffset::UTC);
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let hi = micros(date_of(ny, nm, 1)?, Time::MIDNIGHT, UtcOffset::UTC);
        return Some((lo, hi));
    }
    if !eat(s, &mut pos, b'-') {
        return None;
    }
    let d = digits(s, &mut pos, 2)?;
    let date = date_of(y, m, d)?;
    if pos == s.len() {
        let lo = micros(date, Time::MIDNIGHT, UtcOffset::UTC);
        return Some((lo, lo + DAY_US));
    }
    if !eat(s, &mut pos, b'T') {
        return None;
    }
    let h = digits(s, &mut pos, 2)?;
    if !eat(s, &mut pos, b':') {
        return None;
    }
    let mi = digits(s, &mut pos, 2)?;
    let (mut sec, mut frac, mut width) = (0, 0i64, 60_000_000i64);
    if eat(s, &mut pos, b':') {
        sec = digits(s, &mut pos, 2)?.min(59);
        width = 1_000_000;
        if eat(s, &mut pos, b'.') {
            let start = pos;
            while s.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            let n = pos - start;
            if n == 0 {
                return None;
            }
            let kept = n.min(6);
            let mut f = 0i64;
            for b in &s[start..start + kept] {
                f = f * 10 + i64::from(b - b'0');
            }
            for _ in kept..6 {
                f *= 10;
            }
            frac = f;
            width = 10i64.pow(u32::try_from(6 - kept).unwrap_or(0));
        }
    }
    let offset = if pos == s.len() || eat(s, &mut pos, b'Z') {
        UtcOffset::UTC
    } else {
        let sign = match s.get(pos) {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return None,
        };
        pos += 1;
        let oh = digits(s, &mut pos, 2)?;
        if !eat(s, &mut pos, b':') {
            return None;
        }
        let om = digits(s, &mut pos, 2)?;
        let oh = i8::try_from(sign * oh).ok()?;
        let om = i8::try_from(sign * om).ok()?;
        UtcOffset::from_hms(oh, om, 0).ok()?
    };
    if pos != s.len() {
        return None;
    }
    let time = Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(sec).ok()?,
    )
    .ok()?;
    let lo = micros(date, time, offset) + frac;
    Some((lo, lo + width))
}

/// A search prefix (FHIR R4 §3.1.1.4.7 / §3.1.1.4.4 "prefixes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// equal: the resource's range lies within the parameter's.
    Eq,
    /// not equal.
    Ne,
    /// less than.
    Lt,
    /// greater than.
    Gt,
    /// less or equal.
    Le,
    /// greater or equal.
    Ge,
    /// starts after.
    Sa,
    /// ends before.
    Eb,
    /// approximately (treated as overlapping).
    Ap,
}

/// A parsed date search value: prefix and the range of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateSearch {
    /// Comparison.
    pub prefix: Prefix,
    /// Inclusive lower bound, µs.
    pub low: i64,
    /// Exclusive upper bound, µs.
    pub high: i64,
}

/// Splits a prefix off a search value (`ge2013` → `Ge`, `2013`).
pub(crate) fn split_prefix(raw: &str) -> (Prefix, &str) {
    let table = [
        ("eq", Prefix::Eq),
        ("ne", Prefix::Ne),
        ("lt", Prefix::Lt),
        ("gt", Prefix::Gt),
        ("le", Prefix::Le),
        ("ge", Prefix::Ge),
        ("sa", Prefix::Sa),
        ("eb", Prefix::Eb),
        ("ap", Prefix::Ap),
    ];
    for (code, prefix) in table {
        if let Some(rest) = raw.strip_prefix(code) {
            return (prefix, rest);
        }
    }
    (Prefix::Eq, raw)
}

/// Parses a date search value. A space where a time-zone offset's sign belongs is read as
/// `+`: it is what an unencoded `+` becomes after form decoding
/// (`ge2013-04-05T18:50:00 05:30`). Errors say how to write and encode the value.
pub(crate) fn parse_search(raw: &str) -> Result<DateSearch, String> {
    let (prefix, value) = split_prefix(raw.trim_start());
    let fixed;
    let value = match value.find(' ') {
        Some(i) if value.contains('T') && value[..i].contains('T') => {
            fixed = format!("{}+{}", &value[..i], &value[i + 1..]);
            fixed.as_str()
        }
        _ => value,
    };
    match parse_range(value) {
        Some((low, high)) => Ok(DateSearch { prefix, low, high }),
        None => Err(format!(
            "'{raw}' is not a valid date search value: write [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|+hh:mm|-hh:mm]]]] \
             and percent-encode '+' in a time-zone offset as %2B (FHIR R4 §3.1.1.4.7)"
        )),
    }
}

/// The SQL condition for `search` against the index columns `lo`/`hi` (the resource's
/// range), with the search bounds as bind placeholders `p_lo`, `p_hi`
/// (FHIR R4 §3.1.1.4.7: ranges compared per prefix).
pub(crate) fn condition(prefix: Prefix, lo: &str, hi: &str, p_lo: &str, p_hi: &str) -> String {
    match prefix {
        Prefix::Eq => format!("({lo} >= {p_lo} AND {hi} <= {p_hi})"),
        Prefix::Ne => format!("NOT ({lo} >= {p_lo} AND {hi} <= {p_hi})"),
        Prefix::Gt => format!("({hi} > {p_hi})"),
        Prefix::Lt => format!("({lo} < {p_lo})"),
        Prefix::Ge => format!("({hi} > {p_hi} OR ({lo} >= {p_lo} AND {hi} <= {p_hi}))"),
        Prefix::Le => format!("({lo} < {p_lo} OR ({lo} >= {p_lo} AND {hi} <= {p_hi}))"),
        Prefix::Sa => format!("({lo} >= {p_hi})"),
        Prefix::Eb => format!("({hi} <= {p_lo})"),
        Prefix::Ap => format!("({lo} < {p_hi} AND {hi} > {p_lo})"),
    }
}
