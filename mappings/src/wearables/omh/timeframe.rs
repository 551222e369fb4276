//! Open mHealth `effective_time_frame` (schema `time-frame-1.0`, `time-interval-1.0`,
//! `duration-unit-value-1.0`) → [`Effective`].
//!
//! - `date_time` → `effectiveDateTime`, the string kept verbatim.
//! - `time_interval` with `start_date_time` + `end_date_time` → `effectivePeriod` verbatim;
//!   `start_date_time` + `duration` → end computed in the start's offset; `duration` +
//!   `end_date_time` → start computed in the end's offset.
//! - `time_interval` with `date` + `part_of_day` → `effectiveDateTime` at date precision and
//!   the part of day in `note` (the schema gives no clock hours for `morning`).

use serde_json::Value;

use crate::MappingError;
use crate::wearables::time::{self, Effective};

/// The parsed time frame plus an optional note.
#[derive(Debug)]
pub struct TimeFrame {
    /// `effective[x]`.
    pub effective: Effective,
    /// Text for `Observation.note` (part of day).
    pub note: Option<String>,
}

fn err(measure: &str, detail: impl Into<String>) -> MappingError {
    MappingError::TimeFrame {
        format: "omh",
        measure: measure.into(),
        detail: detail.into(),
    }
}

/// Duration in seconds of a `duration-unit-value`.
pub fn duration_seconds(measure: &str, d: &Value) -> Result<f64, MappingError> {
    let value = d["value"]
        .as_f64()
        .ok_or_else(|| err(measure, "duration has no numeric value"))?;
    let factor = match d["unit"].as_str().unwrap_or("") {
        "ms" => 0.001,
        "sec" | "s" => 1.0,
        "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "wk" => 604_800.0,
        other => return Err(err(measure, format!("unknown duration unit {other:?}"))),
    };
    Ok(value * factor)
}

/// Parses `body.effective_time_frame` for `measure`; `interval_only` refuses `date_time`.
pub fn parse(measure: &str, body: &Value, interval_only: bool) -> Result<TimeFrame, MappingError> {
    let tf = body
        .get("effective_time_frame")
        .ok_or_else(|| err(measure, "effective_time_frame is missing"))?;
    if let Some(dt) = tf.get("date_time") {
        if interval_only {
            return Err(err(
                measure,
                "date_time given where the schema requires a time_interval",
            ));
        }
        let s = dt
            .as_str()
            .ok_or_else(|| err(measure, "date_time is not a string"))?;
        let t = time::rfc3339(s).map_err(|e| err(measure, e))?;
        return Ok(TimeFrame {
            effective: Effective::DateTime(t),
            note: None,
        });
    }
    let ti = tf.get("time_interval").ok_or_else(|| {
        err(
            measure,
            "effective_time_frame has neither date_time nor time_interval",
        )
    })?;
    let text = |k: &str| ti.get(k).and_then(Value::as_str);
    let check = |s: &str| time::rfc3339(s).map_err(|e| err(measure, e));
    let effective = match (
        text("start_date_time"),
        text("end_date_time"),
        ti.get("duration"),
    ) {
        (Some(s), Some(e), None) => Effective::Period(check(s)?, check(e)?),
        (Some(s), None, Some(d)) => {
            let end = time::add_seconds(&check(s)?, duration_seconds(measure, d)?);
            Effective::Period(s.to_owned(), end.map_err(|e| err(measure, e))?)
        }
        (None, Some(e), Some(d)) => {
            let start = time::sub_seconds(&check(e)?, duration_seconds(measure, d)?);
            Effective::Period(start.map_err(|e| err(measure, e))?, e.to_owned())
        }
        _ => {
            if let (Some(date), Some(part)) = (text("date"), text("part_of_day")) {
                let d: jiff::civil::Date = date
                    .parse()
                    .map_err(|_| err(measure, format!("{date:?} is not a date")))?;
                return Ok(TimeFrame {
                    effective: Effective::DateTime(d.to_string()),
                    note: Some(format!("part of day: {part}")),
                });
            }
            return Err(err(
                measure,
                "time_interval needs two of start_date_time, end_date_time, duration (or date + part_of_day)",
            ));
        }
    };
    Ok(TimeFrame {
        effective,
        note: None,
    })
}
