//! HL7 v2 DTM/TS ⇄ FHIR R4 `date`/`dateTime`/`instant`.
//!
//! v2 (v2.5.1 ch. 2A §2A.3.22 DTM): `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. A time
//! without an offset is the sender's local time (§2A.3.22: "the time zone of the sender"),
//! so it is placed in the configured IANA zone; without one it keeps only its date (FHIR
//! allows a date-precision `dateTime`) and the caller records a warning — never the host's
//! zone. An offset is kept exactly as sent (`+0215` → `+02:15`, `+0000` → `+00:00`). FHIR
//! needs seconds once there is a time (R4 §2.24.0.1 dateTime), so `HHMM` becomes `HH:MM:00`
//! and `HH` becomes `HH:00:00`.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// A parsed DTM: the date, an optional time, an optional offset in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtm {
    year: i16,
    month: Option<i8>,
    day: Option<i8>,
    /// `(hour, minute, second, fraction digits)`.
    time: Option<(i8, i8, i8, String)>,
    offset: Option<i32>,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn digits(s: &str) -> Option<i16> {
    if all_digits(s) { s.parse().ok() } else { None }
}

impl Dtm {
    /// Parses a DTM (also the first component of a v2.5 TS). Errors describe the shape,
    /// never the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || "not an HL7 v2 date/time (YYYY[MM[DD[HH[MM[SS[.SSSS]]]]]][+/-ZZZZ])".to_owned();
        let (body, offset) = match text.find(['+', '-']) {
            Some(i) => {
                let z = &text[i + 1..];
                if z.len() != 4 {
                    return Err(bad());
                }
                let h = digits(&z[..2]).ok_or_else(bad)?;
                let m = digits(&z[2..]).ok_or_else(bad)?;
                if m > 59 || h * 60 + m > 14 * 60 {
                    return Err("UTC offset out of range (±14:00)".into());
                }
                let sign = if text.as_bytes()[i] == b'-' { -1 } else { 1 };
                (
                    &text[..i],
                    Some(sign * (i32::from(h) * 3600 + i32::from(m) * 60)),
                )
            }
            None => (text, None),
        };
        let (main, fraction) = match body.split_once('.') {
            Some((m, f)) if f.len() <= 4 && all_digits(f) => (m, f.to_owned()),
            Some(_) => return Err(bad()),
            None => (body, String::new()),
        };
        if !matches!(main.len(), 4 | 6 | 8 | 10 | 12 | 14) || !all_digits(main) {
            return Err(bad());
        }
        if !fraction.is_empty() && main.len() != 14 {
            return Err(bad());
        }
        let part = |r: std::ops::Range<usize>| main.get(r).and_then(digits);
        let year = part(0..4).ok_or_else(bad)?;
        let month = part(4..6).map(|v| v as i8);
        let day = part(6..8).map(|v| v as i8);
        let time = part(8..10).map(|h| {
            (
                h as i8,
                part(10..12).unwrap_or(0) as i8,
                part(12..14).unwrap_or(0) as i8,
                fraction,
            )
        });
        Date::new(year, month.unwrap_or(1), day.unwrap_or(1)).map_err(|_| bad())?;
        if let Some((h, m, s, _)) = &time {
            jiff::civil::Time::new(*h, *m, *s, 0).map_err(|_| bad())?;
        }
        Ok(Self {
            year,
            month,
            day,
            time,
            offset,
        })
    }

    /// FHIR `date` at the DTM's own precision (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`).
    pub fn to_date(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{:04}-{m:02}", self.year),
            _ => format!("{:04}", self.year),
        }
    }

    /// Whether the DTM has a time of day that carries no offset.
    pub fn is_floating(&self) -> bool {
        self.time.is_some() && self.offset.is_none()
    }

    /// FHIR `dateTime`: the date alone when there is no time; the time with its own offset,
    /// or placed in `zone`; `None` when the time has no offset and no zone is given (the
    /// caller then falls back to [`Dtm::to_date`] with a warning).
    pub fn to_date_time(&self, zone: Option<&TimeZone>) -> Option<String> {
        let Some((h, m, s, frac)) = &self.time else {
            return Some(self.to_date());
        };
        let (month, day) = (self.month.unwrap_or(1), self.day.unwrap_or(1));
        let offset = match (self.offset, zone) {
            (Some(o), _) => o,
            (None, Some(tz)) => {
                let dt = DateTime::new(self.year, month, day, *h, *m, *s, 0).ok()?;
                dt.to_zoned(tz.clone()).ok()?.offset().seconds()
            }
            (None, None) => return None,
        };
        let frac = if frac.is_empty() {
            String::new()
        } else {
            format!(".{frac}")
        };
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.abs();
        Some(format!(
            "{:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{frac}{sign}{:02}:{:02}",
            self.year,
            a / 3600,
            (a % 3600) / 60
        ))
    }

    /// FHIR `instant` (a full time with an offset), or `None` at date precision or when the
    /// time has no offset and no zone is given.
    pub fn to_instant(&self, zone: Option<&TimeZone>) -> Option<String> {
        if self.time.is_none() || self.day.is_none() {
            return None;
        }
        self.to_date_time(zone)
    }
}

/// FHIR `date`/`dateTime`/`instant` → v2 DTM, keeping the offset (`Z` → `+0000`) and at most
/// four fractional digits (the DTM limit).
pub fn fhir_to_dtm(text: &str) -> Result<String, String> {
    let bad = || "not a FHIR date/dateTime/instant".to_owned();
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let date_digits: String = date.split('-').collect();
    if !matches!(date_digits.len(), 4 | 6 | 8) || !all_digits(&date_digits) {
        return Err(bad());
    }
    let Some(time) = time else {
        return Ok(date_digits);
    };
    let (clock, zone) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, "+0000".to_owned())
    } else {
        let i = time.rfind(['+', '-']).ok_or_else(bad)?;
        (&time[..i], time[i..].replace(':', ""))
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let hms: String = hms.split(':').collect();
    if hms.len() != 6 || !all_digits(&hms) || zone.len() != 5 {
        return Err(bad());
    }
    let frac = frac.get(..frac.len().min(4)).unwrap_or("");
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Ok(format!("{date_digits}{hms}{frac}{zone}"))
}

/// A timestamp for MSH-7/EVN-2 from `ts` in UTC (`YYYYMMDDHHMMSS+0000`).
pub fn now_dtm(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y%m%d%H%M%S+0000").to_string()
}
