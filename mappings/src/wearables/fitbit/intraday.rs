//! Fitbit intraday time series (`activities-heart-intraday`, `activities-steps-intraday`,
//! `dataset` of `{time: "HH:MM:SS", value}` under the day in `activities-*[0].dateTime`).
//!
//! Heart rate: one 8867-4 Observation per point, `effectiveDateTime`, unit `/min`.
//! Steps: one 55423-8 Observation per point over `[time, time + datasetInterval)`,
//! `effectivePeriod`, unit `{steps}`. Points carry no id: the identifier is the hash of
//! format, measure, local date-time + zone, value and unit. The daily summaries
//! (`heartRateZones`, the day's `value`) are not readings and are not mapped.

use serde_json::{Number, Value};

use super::{local, zone_key};
use crate::MappingError;
use crate::wearables::identifier::{self, HashInput};
use crate::wearables::loinc::Measure;
use crate::wearables::observation::{Observation, Quantity, Reading};
use crate::wearables::time::Effective;
use crate::wearables::{Context, Mapped};

fn bad(detail: impl Into<String>) -> MappingError {
    MappingError::invalid("fitbit", detail)
}

/// Day and points of a `activities-{kind}` + `-intraday` payload.
fn series<'a>(
    input: &'a Value,
    kind: &str,
) -> Result<(&'a str, &'a Vec<Value>, &'a Value), MappingError> {
    let day = input[format!("activities-{kind}")][0]["dateTime"]
        .as_str()
        .ok_or_else(|| bad(format!("activities-{kind}[0].dateTime is missing")))?;
    let intraday = &input[format!("activities-{kind}-intraday")];
    let points = intraday["dataset"].as_array().ok_or_else(|| {
        bad(format!(
            "activities-{kind}-intraday.dataset is not an array"
        ))
    })?;
    Ok((day, points, intraday))
}

fn point(p: &Value, measure: &str) -> Result<(String, Number), MappingError> {
    let time = p["time"]
        .as_str()
        .ok_or_else(|| bad(format!("{measure}: a point has no time")))?;
    let Value::Number(n) = &p["value"] else {
        return Err(bad(format!("{measure}: a point's value is not a number")));
    };
    Ok((time.to_owned(), n.clone()))
}

fn hash(
    ctx: &Context,
    measure: &str,
    local_time: &str,
    value: &Number,
    unit: &str,
) -> identifier::Identifier {
    let tf = format!("{local_time}[{}]", zone_key(ctx));
    identifier::hashed(&HashInput {
        format: "fitbit",
        measure,
        time_frame: &tf,
        value: &value.to_string(),
        unit,
        device: "",
    })
}

/// Fitbit heart-rate intraday → heart-rate Observations (one per point).
pub fn heart_intraday_to_observations(
    input: &Value,
    ctx: &Context,
) -> Result<Mapped, MappingError> {
    let (day, points, _) = series(input, "heart")?;
    let observations = points
        .iter()
        .map(|p| {
            let (time, value) = point(p, "heart-rate")?;
            let at = format!("{day}T{time}");
            let mut r = Reading::new(
                Measure::HeartRate,
                Effective::DateTime(local(ctx, "heart-rate", &at)?),
                hash(ctx, "heart-rate", &at, &value, "bpm"),
            );
            r.value = Some(Quantity {
                value,
                unit: "beats/minute".into(),
                code: "/min",
            });
            Ok(Observation::new(r, ctx.subject.clone()))
        })
        .collect();
    Ok(Mapped {
        observations,
        warnings: Vec::new(),
    })
}

/// Fitbit steps intraday → step-count Observations over each dataset interval.
pub fn steps_intraday_to_observations(
    input: &Value,
    ctx: &Context,
) -> Result<Mapped, MappingError> {
    let (day, points, intraday) = series(input, "steps")?;
    let unit_seconds: i64 = match intraday["datasetType"].as_str() {
        Some("second") => 1,
        Some("minute") | None => 60,
        Some("hour") => 3600,
        Some(other) => return Err(bad(format!("unknown datasetType {other:?}"))),
    };
    let step = intraday["datasetInterval"].as_i64().unwrap_or(1).max(1) * unit_seconds;
    let observations = points
        .iter()
        .map(|p| {
            let (time, value) = point(p, "step-count")?;
            let at = format!("{day}T{time}");
            let start_dt: jiff::civil::DateTime =
                at.parse().map_err(|_| bad(format!("bad time {time:?}")))?;
            let end_dt = start_dt
                .checked_add(jiff::SignedDuration::from_secs(step))
                .map_err(|e| bad(e.to_string()))?;
            let start = local(ctx, "step-count", &at)?;
            let end = local(ctx, "step-count", &end_dt.to_string())?;
            let mut r = Reading::new(
                Measure::StepCount,
                Effective::Period(start, end),
                hash(ctx, "step-count", &at, &value, "steps"),
            );
            r.value = Some(Quantity {
                value,
                unit: "steps".into(),
                code: "{steps}",
            });
            Ok(Observation::new(r, ctx.subject.clone()))
        })
        .collect();
    Ok(Mapped {
        observations,
        warnings: Vec::new(),
    })
}
