//! Fitbit body weight logs (`weight[]`: `logId`, `date`, `time`, `weight`) and sleep logs
//! (`sleep[]`: `logId`, `startTime`, `endTime`, `minutesAsleep`) → Observations identified by
//! `logId` (systems [`identifier::FITBIT_WEIGHT_LOG_ID`], [`identifier::FITBIT_SLEEP_LOG_ID`]).
//!
//! Weight is in kilograms: the Web API returns metric units when the request carries no
//! `Accept-Language` (or a non-US/GB one), which is how shimmer-style collectors call it; the
//! payload itself names no unit. Sleep: 93832-4 valued by `minutesAsleep` in `min` over
//! `startTime`–`endTime`.

use serde_json::{Number, Value};

use super::local;
use crate::MappingError;
use crate::wearables::identifier;
use crate::wearables::loinc::Measure;
use crate::wearables::observation::{Observation, Quantity, Reading};
use crate::wearables::time::Effective;
use crate::wearables::{Context, Mapped};

fn bad(detail: impl Into<String>) -> MappingError {
    MappingError::invalid("fitbit", detail)
}

fn log_id(entry: &Value) -> Result<String, MappingError> {
    match &entry["logId"] {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        _ => Err(bad("a log entry has no logId")),
    }
}

fn number(entry: &Value, key: &str) -> Result<Number, MappingError> {
    match &entry[key] {
        Value::Number(n) => Ok(n.clone()),
        _ => Err(bad(format!("{key} is not a number"))),
    }
}

fn each(
    input: &Value,
    key: &str,
    f: impl Fn(&Value) -> Result<Observation, MappingError>,
) -> Result<Mapped, MappingError> {
    let entries = input[key]
        .as_array()
        .ok_or_else(|| bad(format!("{key} is not an array")))?;
    Ok(Mapped {
        observations: entries.iter().map(f).collect(),
        warnings: Vec::new(),
    })
}

/// Fitbit `body/log/weight` → body-weight Observations (kg).
pub fn weight_log_to_observations(input: &Value, ctx: &Context) -> Result<Mapped, MappingError> {
    each(input, "weight", |e| {
        let date = e["date"]
            .as_str()
            .ok_or_else(|| bad("weight log without date"))?;
        let time = e["time"].as_str().unwrap_or("00:00:00");
        let at = local(ctx, "body-weight", &format!("{date}T{time}"))?;
        let mut r = Reading::new(
            Measure::BodyWeight,
            Effective::DateTime(at),
            identifier::source(identifier::FITBIT_WEIGHT_LOG_ID, log_id(e)?),
        );
        r.value = Some(Quantity {
            value: number(e, "weight")?,
            unit: "kg".into(),
            code: "kg",
        });
        Ok(Observation::new(r, ctx.subject.clone()))
    })
}

/// Fitbit `sleep/date` → sleep-duration Observations (minutes asleep).
pub fn sleep_log_to_observations(input: &Value, ctx: &Context) -> Result<Mapped, MappingError> {
    each(input, "sleep", |e| {
        let start = e["startTime"]
            .as_str()
            .ok_or_else(|| bad("sleep log without startTime"))?;
        let end = e["endTime"]
            .as_str()
            .ok_or_else(|| bad("sleep log without endTime"))?;
        let period = Effective::Period(
            local(ctx, "sleep-duration", start)?,
            local(ctx, "sleep-duration", end)?,
        );
        let mut r = Reading::new(
            Measure::SleepDuration,
            period,
            identifier::source(identifier::FITBIT_SLEEP_LOG_ID, log_id(e)?),
        );
        r.value = Some(Quantity {
            value: number(e, "minutesAsleep")?,
            unit: "min".into(),
            code: "min",
        });
        if let Some(main) = e["isMainSleep"].as_bool() {
            r.notes.push(format!("main sleep: {main}"));
        }
        Ok(Observation::new(r, ctx.subject.clone()))
    })
}
