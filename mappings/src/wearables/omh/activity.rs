//! Open mHealth activity and sleep bodies → [`Reading`]: step-count 2.0/3.0, sleep-duration
//! 2.0, sleep-episode 1.1, physical-activity 1.0/1.2. All use category `activity`.
//!
//! - step-count: 55423-8, `{steps}`; step-count 3.0 requires a `time_interval`.
//! - sleep-duration: 93832-4 in the source's duration unit (`h`, `min`, …), interval required.
//! - sleep-episode: 93832-4 valued by `total_sleep_time`; latencies, wake after onset and
//!   efficiency become components coded with their OMH property names.
//! - physical-activity: 73985-4 "Exercise activity", `valueCodeableConcept.text` = the
//!   activity name; `distance` (OMH-coded) and `kcal_burned` (LOINC 41981-2) as components.

use serde_json::Value;

use super::body::{hash_of, unit_value};
use super::timeframe;
use crate::MappingError;
use crate::wearables::loinc::{self, Measure};
use crate::wearables::observation::{Component, LOINC, OMH_PROPERTY, Quantity, Reading};

/// Maps an activity or sleep body of schema `schema`.
pub fn body_to_reading(schema: &str, body: &Value) -> Result<Reading, MappingError> {
    match schema {
        "step-count" => step_count(body),
        "sleep-duration" => {
            let q = unit_value("duration", body, "sleep_duration")?;
            with_value(schema, Measure::SleepDuration, body, q, true)
        }
        "sleep-episode" => sleep_episode(body),
        _ => physical_activity(body),
    }
}

fn with_value(
    schema: &str,
    measure: Measure,
    body: &Value,
    q: Quantity,
    interval_only: bool,
) -> Result<Reading, MappingError> {
    let tf = timeframe::parse(schema, body, interval_only)?;
    let id = hash_of(schema, &tf.effective.key(), &q.value.to_string(), &q.unit);
    let mut r = Reading::new(measure, tf.effective, id);
    r.notes.extend(tf.note);
    r.value = Some(q);
    Ok(r)
}

/// step-count 3.0 (`{value, unit: "steps"}`) or 2.0 (a bare non-negative integer).
fn step_count(body: &Value) -> Result<Reading, MappingError> {
    let m = "step-count";
    let q = match &body["step_count"] {
        Value::Number(n) => Quantity {
            value: n.clone(),
            unit: "steps".into(),
            code: "{steps}",
        },
        Value::Object(_) => unit_value(m, body, "step_count")?,
        _ => {
            return Err(MappingError::invalid(
                "omh",
                "step-count: step_count is missing",
            ));
        }
    };
    with_value(m, Measure::StepCount, body, q, true)
}

fn omh_component(name: &'static str, display: &'static str, q: Quantity) -> Component {
    Component {
        system: OMH_PROPERTY,
        code: name,
        display,
        quantity: q,
    }
}

fn sleep_episode(body: &Value) -> Result<Reading, MappingError> {
    let m = "sleep-episode";
    let tf = timeframe::parse(m, body, true)?;
    let total = body
        .get("total_sleep_time")
        .map(|_| unit_value("duration", body, "total_sleep_time"))
        .transpose()?;
    let value = total
        .as_ref()
        .map(|q| q.value.to_string())
        .unwrap_or_default();
    let unit = total.as_ref().map(|q| q.unit.clone()).unwrap_or_default();
    let id = hash_of(m, &tf.effective.key(), &value, &unit);
    let mut r = Reading::new(Measure::SleepEpisode, tf.effective, id);
    r.notes.extend(tf.note);
    r.value = total;
    for (field, display) in [
        ("latency_to_sleep_onset", "Latency to sleep onset"),
        ("latency_to_arising", "Latency to arising"),
        ("wake_after_sleep_onset", "Wake after sleep onset"),
    ] {
        if body.get(field).is_some() {
            r.components.push(omh_component(
                field,
                display,
                unit_value("duration", body, field)?,
            ));
        }
    }
    if body
        .get("sleep_maintenance_efficiency_percentage")
        .is_some()
    {
        let q = unit_value("percent", body, "sleep_maintenance_efficiency_percentage")?;
        r.components.push(omh_component(
            "sleep_maintenance_efficiency_percentage",
            "Sleep maintenance efficiency",
            q,
        ));
    }
    if let Some(n) = body.get("number_of_awakenings").and_then(Value::as_u64) {
        let q = Quantity {
            value: n.into(),
            unit: "awakenings".into(),
            code: "{awakenings}",
        };
        r.components.push(omh_component(
            "number_of_awakenings",
            "Number of awakenings",
            q,
        ));
    }
    if let Some(main) = body.get("is_main_sleep").and_then(Value::as_bool) {
        r.notes.push(format!("main sleep: {main}"));
    }
    Ok(r)
}

fn physical_activity(body: &Value) -> Result<Reading, MappingError> {
    let m = "physical-activity";
    let name = body["activity_name"].as_str().ok_or_else(|| {
        MappingError::invalid("omh", "physical-activity: activity_name is missing")
    })?;
    let tf = timeframe::parse(m, body, false)?;
    let distance = body
        .get("distance")
        .map(|_| unit_value("length", body, "distance"))
        .transpose()?;
    let kcal = body
        .get("kcal_burned")
        .map(|_| unit_value("energy", body, "kcal_burned"))
        .transpose()?;
    let value = format!(
        "{name};{};{}",
        distance
            .as_ref()
            .map(|q| format!("{}{}", q.value, q.unit))
            .unwrap_or_default(),
        kcal.as_ref()
            .map(|q| q.value.to_string())
            .unwrap_or_default()
    );
    let id = hash_of(m, &tf.effective.key(), &value, "");
    let mut r = Reading::new(Measure::PhysicalActivity, tf.effective, id);
    r.notes.extend(tf.note);
    r.value_text = Some(name.to_owned());
    if let Some(q) = distance {
        r.components.push(omh_component("distance", "Distance", q));
    }
    if let Some(q) = kcal {
        let (code, display) = loinc::CALORIES_BURNED;
        r.components.push(Component {
            system: LOINC,
            code,
            display,
            quantity: q,
        });
    }
    if let Some(i) = body["reported_activity_intensity"].as_str() {
        r.notes.push(format!("reported activity intensity: {i}"));
    }
    Ok(r)
}
