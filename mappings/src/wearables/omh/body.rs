//! Open mHealth bodies of the vital-sign schemas → [`Reading`]: heart-rate 2.0,
//! respiratory-rate 2.0, oxygen-saturation 2.0, body-temperature 4.0, body-weight 3.0,
//! blood-pressure 4.0, blood-glucose 3.0; dispatch by schema name to [`super::activity`]
//! for step-count, sleep and physical activity.
//!
//! Descriptive statistics (`descriptive_statistic`, e.g. `average`): the value is kept in
//! `valueQuantity`, the statistic goes to `method.text` as `descriptive statistic: average`,
//! and a time_interval is required — a statistic summarises a period, never an instant.

use serde_json::Value;

use super::activity;
use super::timeframe;
use crate::MappingError;
use crate::wearables::identifier::{self, HashInput};
use crate::wearables::loinc::{self, Measure};
use crate::wearables::observation::{Component, Quantity, Reading};
use crate::wearables::units;

/// OMH `descriptive-statistic-1.0` values we accept.
const STATISTICS: &[&str] = &[
    "average",
    "count",
    "maximum",
    "median",
    "minimum",
    "standard deviation",
    "sum",
    "variance",
];

/// The schema a bare body is, by its distinguishing property; `None` when none matches.
pub fn detect_schema(body: &Value) -> Option<&'static str> {
    const KEYS: &[(&str, &str)] = &[
        ("heart_rate", "heart-rate"),
        ("respiratory_rate", "respiratory-rate"),
        ("oxygen_saturation", "oxygen-saturation"),
        ("body_temperature", "body-temperature"),
        ("body_weight", "body-weight"),
        ("systolic_blood_pressure", "blood-pressure"),
        ("blood_glucose", "blood-glucose"),
        ("step_count", "step-count"),
        ("sleep_duration", "sleep-duration"),
        ("activity_name", "physical-activity"),
        ("total_sleep_time", "sleep-episode"),
        ("latency_to_sleep_onset", "sleep-episode"),
        ("is_main_sleep", "sleep-episode"),
    ];
    KEYS.iter()
        .find(|(k, _)| body.get(*k).is_some())
        .map(|(_, s)| *s)
}

/// `body[field]` as `{value, unit}` with the unit looked up under `measure` in the OMH table.
pub fn unit_value(measure: &str, body: &Value, field: &str) -> Result<Quantity, MappingError> {
    let uv = body
        .get(field)
        .ok_or_else(|| MappingError::invalid("omh", format!("{measure}: {field} is missing")))?;
    let value = match &uv["value"] {
        Value::Number(n) => n.clone(),
        _ => {
            return Err(MappingError::invalid(
                "omh",
                format!("{measure}: {field}.value is not a number"),
            ));
        }
    };
    let unit = uv["unit"].as_str().ok_or_else(|| {
        MappingError::invalid("omh", format!("{measure}: {field}.unit is missing"))
    })?;
    let (known, code) =
        units::rule(units::OMH, measure, unit).ok_or_else(|| MappingError::UnknownUnit {
            format: "omh",
            measure: measure.into(),
            unit: unit.into(),
        })?;
    Ok(Quantity {
        value,
        unit: units::source_unit(known, unit),
        code,
    })
}

/// The hash identifier of a bare body (no device: bodies carry none).
pub fn hash_of(measure: &str, time_frame: &str, value: &str, unit: &str) -> identifier::Identifier {
    identifier::hashed(&HashInput {
        format: "omh",
        measure,
        time_frame,
        value,
        unit,
        device: "",
    })
}

/// A reading with one quantity for the vital-sign schemas.
fn single(
    schema: &str,
    measure: Measure,
    body: &Value,
    field: &str,
) -> Result<Reading, MappingError> {
    let q = unit_value(schema, body, field)?;
    let stat = body.get("descriptive_statistic").and_then(Value::as_str);
    if let Some(s) = stat.filter(|s| !STATISTICS.contains(s)) {
        return Err(MappingError::invalid(
            "omh",
            format!("{schema}: unknown descriptive_statistic {s:?}"),
        ));
    }
    let tf = timeframe::parse(schema, body, stat.is_some())?;
    let id = hash_of(schema, &tf.effective.key(), &q.value.to_string(), &q.unit);
    let mut r = Reading::new(measure, tf.effective, id);
    r.notes.extend(tf.note);
    r.method = stat.map(|s| format!("descriptive statistic: {s}"));
    r.value = Some(q);
    Ok(r)
}

/// Maps an OMH body of schema `schema` (`heart-rate`, …) to a [`Reading`].
///
/// Errors: unknown schema, missing or wrong-typed property, unknown unit, bad time frame.
pub fn body_to_reading(schema: &str, body: &Value) -> Result<Reading, MappingError> {
    if !body.is_object() {
        return Err(MappingError::invalid(
            "omh",
            "a data point body must be a JSON object",
        ));
    }
    match schema {
        "heart-rate" => single(schema, Measure::HeartRate, body, "heart_rate"),
        "respiratory-rate" => single(schema, Measure::RespiratoryRate, body, "respiratory_rate"),
        "body-temperature" => {
            let mut r = single(schema, Measure::BodyTemperature, body, "body_temperature")?;
            r.body_site = body["measurement_location"].as_str().map(str::to_owned);
            Ok(r)
        }
        "body-weight" => single(schema, Measure::BodyWeight, body, "body_weight"),
        "oxygen-saturation" => {
            let mut r = single(schema, Measure::OxygenSaturation, body, "oxygen_saturation")?;
            if body.get("supplemental_oxygen_flow_rate").is_some() {
                let q = unit_value("flow", body, "supplemental_oxygen_flow_rate")?;
                let (code, display) = loinc::INHALED_O2_FLOW;
                r.components.push(Component {
                    system: crate::wearables::observation::LOINC,
                    code,
                    display,
                    quantity: q,
                });
            }
            r.method = body["measurement_method"]
                .as_str()
                .map(str::to_owned)
                .or(r.method);
            Ok(r)
        }
        "blood-glucose" => glucose(body),
        "blood-pressure" => blood_pressure(body),
        "step-count" | "sleep-duration" | "sleep-episode" | "physical-activity" => {
            activity::body_to_reading(schema, body)
        }
        other => Err(MappingError::UnknownMeasure {
            format: "omh",
            measure: other.into(),
        }),
    }
}

/// Blood glucose: LOINC by `specimen_source` and unit (issue 6): capillary blood mg/dL
/// 41653-7, mmol/L 14743-9; any other or no specimen: blood 2339-0 / 15074-8.
fn glucose(body: &Value) -> Result<Reading, MappingError> {
    let capillary = body["specimen_source"].as_str() == Some("capillary blood");
    let q = unit_value("blood-glucose", body, "blood_glucose")?;
    let measure = match (capillary, q.code) {
        (true, "mg/dL") => Measure::GlucoseCapillaryMass,
        (true, _) => Measure::GlucoseCapillaryMolar,
        (false, "mg/dL") => Measure::GlucoseBloodMass,
        (false, _) => Measure::GlucoseBloodMolar,
    };
    single("blood-glucose", measure, body, "blood_glucose")
}

/// Blood pressure 4.0: panel 85354-9, systolic 8480-6 and diastolic 8462-4 components.
fn blood_pressure(body: &Value) -> Result<Reading, MappingError> {
    let m = "blood-pressure";
    let sys = unit_value(m, body, "systolic_blood_pressure")?;
    let dia = unit_value(m, body, "diastolic_blood_pressure")?;
    let tf = timeframe::parse(m, body, false)?;
    let value = format!("{}/{}", sys.value, dia.value);
    let id = hash_of(m, &tf.effective.key(), &value, &sys.unit);
    let mut r = Reading::new(Measure::BloodPressure, tf.effective, id);
    r.notes.extend(tf.note);
    r.body_site = body["measurement_location"].as_str().map(str::to_owned);
    let lo = crate::wearables::observation::LOINC;
    r.components.push(Component {
        system: lo,
        code: loinc::SYSTOLIC.0,
        display: loinc::SYSTOLIC.1,
        quantity: sys,
    });
    r.components.push(Component {
        system: lo,
        code: loinc::DIASTOLIC.0,
        display: loinc::DIASTOLIC.1,
        quantity: dia,
    });
    Ok(r)
}
