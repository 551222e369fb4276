//! FHIR R4 vital-signs (and activity) Observations → Open mHealth data points.
//!
//! The measure comes from the LOINC code ([`loinc::by_loinc`]), the schema version from the
//! measure table; UCUM codes map back to OMH units through [`units::OMH`].
//! `effectiveDateTime` → `date_time`, `effectivePeriod` → `time_interval` with
//! `start_date_time`/`end_date_time`, all verbatim. `header.id` is the Observation's first
//! identifier value (else its id); `header.creation_date_time` is `issued`, else
//! `meta.lastUpdated`, else the effective start, because the schema requires one.
//! A `method.text` of `descriptive statistic: X` becomes `descriptive_statistic`.

use serde_json::{Map, Value, json};

use crate::MappingError;
use crate::wearables::loinc::{self, Measure};
use crate::wearables::units;

fn bad(detail: impl Into<String>) -> MappingError {
    MappingError::invalid("fhir", detail)
}

fn unit_value(measure: &str, q: &Value) -> Result<Value, MappingError> {
    let code = q["code"]
        .as_str()
        .ok_or_else(|| bad("valueQuantity has no UCUM code"))?;
    let unit = units::omh_unit(measure, code).ok_or_else(|| MappingError::UnknownUnit {
        format: "fhir",
        measure: measure.into(),
        unit: code.into(),
    })?;
    Ok(json!({"value": q["value"].clone(), "unit": unit}))
}

fn component<'a>(obs: &'a Value, code: &str) -> Option<&'a Value> {
    obs["component"].as_array()?.iter().find(|c| {
        c["code"]["coding"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|x| x["code"] == code))
    })
}

/// Maps one Observation to an OMH data point (`header` + `body`).
///
/// Errors: not an Observation, no LOINC code we map, no value, a unit without an OMH
/// equivalent, no effective time.
pub fn observation_to_data_point(obs: &Value) -> Result<Value, MappingError> {
    if obs["resourceType"] != "Observation" {
        return Err(bad("not an Observation"));
    }
    let row = obs["code"]["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["system"] == "http://loinc.org")
        .find_map(|c| c["code"].as_str().and_then(loinc::by_loinc))
        .ok_or_else(|| MappingError::UnknownMeasure {
            format: "fhir",
            measure: obs["code"].to_string(),
        })?;
    let (name, version) = row.omh_schema;
    let frame = match (obs["effectiveDateTime"].as_str(), &obs["effectivePeriod"]) {
        (Some(t), _) => json!({"date_time": t}),
        (None, Value::Object(p)) => {
            json!({"time_interval": {"start_date_time": p["start"], "end_date_time": p["end"]}})
        }
        _ => {
            return Err(bad(
                "Observation has no effectiveDateTime or effectivePeriod",
            ));
        }
    };
    let mut body = Map::new();
    let value = &obs["valueQuantity"];
    match row.measure {
        Measure::BloodPressure => {
            for (field, code) in [
                ("systolic_blood_pressure", loinc::SYSTOLIC.0),
                ("diastolic_blood_pressure", loinc::DIASTOLIC.0),
            ] {
                let c = component(obs, code)
                    .ok_or_else(|| bad(format!("blood pressure without {code}")))?;
                body.insert(field.into(), unit_value(name, &c["valueQuantity"])?);
            }
        }
        Measure::PhysicalActivity => {
            let n = obs["valueCodeableConcept"]["text"]
                .as_str()
                .ok_or_else(|| bad("no activity name"))?;
            body.insert("activity_name".into(), json!(n));
        }
        Measure::SleepDuration | Measure::SleepEpisode => {
            body.insert("sleep_duration".into(), unit_value("duration", value)?);
        }
        m => {
            let field = match m {
                Measure::HeartRate => "heart_rate",
                Measure::RespiratoryRate => "respiratory_rate",
                Measure::OxygenSaturation => "oxygen_saturation",
                Measure::BodyTemperature => "body_temperature",
                Measure::BodyWeight => "body_weight",
                Measure::StepCount => "step_count",
                Measure::BodyMassIndex => {
                    return Err(MappingError::UnknownMeasure {
                        format: "fhir",
                        measure: "body-mass-index (no OMH schema in scope)".into(),
                    });
                }
                _ => "blood_glucose",
            };
            if value.is_null() {
                return Err(bad("Observation has no valueQuantity"));
            }
            body.insert(field.into(), unit_value(name, value)?);
        }
    }
    body.insert("effective_time_frame".into(), frame);
    if let Some(stat) = obs["method"]["text"]
        .as_str()
        .and_then(|t| t.strip_prefix("descriptive statistic: "))
    {
        body.insert("descriptive_statistic".into(), json!(stat));
    }
    let id = obs["identifier"][0]["value"]
        .as_str()
        .or(obs["id"].as_str())
        .unwrap_or("");
    let created = obs["issued"]
        .as_str()
        .or(obs["meta"]["lastUpdated"].as_str())
        .or(obs["effectiveDateTime"].as_str())
        .or(obs["effectivePeriod"]["start"].as_str());
    let name = if row.measure == Measure::SleepEpisode {
        "sleep-duration"
    } else {
        name
    };
    let version = if row.measure == Measure::SleepEpisode {
        "2.0"
    } else {
        version
    };
    Ok(json!({
        "header": {"id": id, "creation_date_time": created,
            "schema_id": {"namespace": "omh", "name": name, "version": version}},
        "body": Value::Object(body),
    }))
}
