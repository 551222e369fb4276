//! Google Fit REST datasets (`users.dataSources.datasets.get`,
//! <https://developers.google.com/fit/rest/v1/reference/users/dataSources/datasets>:
//! `{minStartTimeNs, maxEndTimeNs, dataSourceId, point: [...]}`) → FHIR R4 Observations,
//! one per point.
//!
//! A point has `startTimeNanos` and `endTimeNanos` (nanoseconds since the Unix epoch, as
//! strings), `dataTypeName`, positional `value` fields (`fpVal`, `intVal`) and
//! `originDataSourceId`. Mapped data types (<https://developers.google.com/fit/datatypes>),
//! those with public sample payloads (Open mHealth Shimmer's test data):
//! - `com.google.heart_rate.bpm`: 8867-4, field 0 `bpm` (float) → `/min`;
//! - `com.google.step_count.delta`: 55423-8, field 0 `steps` (int) over the point's
//!   interval → `{steps}`, always `effectivePeriod`;
//! - `com.google.weight`: 29463-7, field 0 `weight` (float, kg) → `kg`.
//!
//! Other data types are refused per point ([`MappingError::UnknownMeasure`]).
//!
//! Times are instants in UTC: written with `Z` and the source's sub-second digits (trailing
//! zeros dropped, up to the nanosecond, which FHIR `dateTime` allows). Equal start and end
//! give `effectiveDateTime`. Values are the JSON numbers as the source wrote them: Google Fit
//! stores floats, so a weight may read `72.0999984741211`; rounding it would be a guess at the
//! device's precision, so it is kept. Points carry no id: the identifier is the hash of
//! format, data type, start and end nanoseconds, value, unit and `originDataSourceId`. The
//! device is `originDataSourceId` read as a data source id (`type:dataType:application:
//! manufacturer:model:uid:stream`): the model if given, else the application package, with
//! the manufacturer.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Number, Value};

use crate::MappingError;
use crate::wearables::identifier::{self, HashInput};
use crate::wearables::loinc::Measure;
use crate::wearables::observation::{DeviceInfo, Observation, Quantity, Reading};
use crate::wearables::time::Effective;
use crate::wearables::{Context, Mapped};

/// Data type → (measure, value field kind, unit text, UCUM code).
static TYPES: &[(&str, Measure, &str, &str, &str)] = &[
    (
        "com.google.heart_rate.bpm",
        Measure::HeartRate,
        "fpVal",
        "bpm",
        "/min",
    ),
    (
        "com.google.step_count.delta",
        Measure::StepCount,
        "intVal",
        "steps",
        "{steps}",
    ),
    (
        "com.google.weight",
        Measure::BodyWeight,
        "fpVal",
        "kg",
        "kg",
    ),
];

fn bad(detail: impl Into<String>) -> MappingError {
    MappingError::invalid("googlefit", detail)
}

/// Maps a dataset: one Observation (or refusal) per `point`.
///
/// Errors: the input is not a dataset (no `point` array).
pub fn dataset_to_observations(input: &Value, ctx: &Context) -> Result<Mapped, MappingError> {
    let points = input["point"]
        .as_array()
        .ok_or_else(|| bad("a dataset needs a point array"))?;
    Ok(Mapped {
        observations: points.iter().map(|p| point(p, ctx)).collect(),
        warnings: Vec::new(),
    })
}

/// `nanos` (an int64 as a string) as FHIR `dateTime` in UTC.
fn instant(measure: &str, nanos: &Value) -> Result<String, MappingError> {
    let err = |detail: String| MappingError::TimeFrame {
        format: "googlefit",
        measure: measure.into(),
        detail,
    };
    let text = nanos
        .as_str()
        .ok_or_else(|| err("a point's time is not a string of nanoseconds".into()))?;
    let n: i64 = text
        .parse()
        .map_err(|_| err(format!("{text:?} is not a count of nanoseconds")))?;
    let ts = Timestamp::from_nanosecond(i128::from(n))
        .map_err(|_| err(format!("{text:?} nanoseconds is out of range")))?;
    Ok(ts.to_string())
}

/// The contained Device and the hashing key from `originDataSourceId`.
fn device(origin: &str) -> Option<DeviceInfo> {
    let mut parts = origin.split(':').skip(2);
    let mut next = || parts.next().filter(|s| !s.is_empty());
    let (application, manufacturer, model) = (next(), next(), next());
    let name = model.or(application)?;
    Some(DeviceInfo {
        name: name.to_owned(),
        manufacturer: manufacturer.map(str::to_owned),
        model: model.map(str::to_owned),
        software: None,
    })
}

fn point(p: &Value, ctx: &Context) -> Result<Observation, MappingError> {
    let kind = p["dataTypeName"]
        .as_str()
        .ok_or_else(|| bad("a point has no dataTypeName"))?;
    let Some(&(_, measure, field, unit, code)) = TYPES.iter().find(|(t, ..)| *t == kind) else {
        return Err(MappingError::UnknownMeasure {
            format: "googlefit",
            measure: kind.into(),
        });
    };
    let value: Number = match &p["value"][0][field] {
        Value::Number(n) => n.clone(),
        _ => return Err(bad(format!("{kind}: value[0].{field} is not a number"))),
    };
    let (start, end) = (
        instant(kind, &p["startTimeNanos"])?,
        instant(kind, &p["endTimeNanos"])?,
    );
    let effective = if start == end && measure != Measure::StepCount {
        Effective::DateTime(start)
    } else {
        Effective::Period(start, end)
    };
    let origin = p["originDataSourceId"].as_str().unwrap_or("");
    let id = identifier::hashed(&HashInput {
        format: "googlefit",
        measure: kind,
        time_frame: &format!(
            "{}/{}",
            p["startTimeNanos"].as_str().unwrap_or(""),
            p["endTimeNanos"].as_str().unwrap_or("")
        ),
        value: &value.to_string(),
        unit,
        device: origin,
    });
    let mut r = Reading::new(measure, effective, id);
    r.value = Some(Quantity {
        value,
        unit: unit.into(),
        code,
    });
    r.device = device(origin).map(Arc::new);
    Ok(Observation::new(r, ctx.subject.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new("p1", None).expect("ctx")
    }

    #[test]
    fn nanoseconds_become_utc_date_times_with_their_digits() {
        let v = |s: &str| Value::String(s.into());
        assert_eq!(
            instant("t", &v("1422632268186000000")).ok().as_deref(),
            Some("2015-01-30T15:37:48.186Z")
        );
        assert_eq!(
            instant("t", &v("1436566038006058105")).ok().as_deref(),
            Some("2015-07-10T22:07:18.006058105Z")
        );
        assert_eq!(
            instant("t", &v("1423785600000000000")).ok().as_deref(),
            Some("2015-02-13T00:00:00Z")
        );
        assert!(matches!(
            instant("t", &v("soon")),
            Err(MappingError::TimeFrame { .. })
        ));
    }

    #[test]
    fn the_device_is_the_model_else_the_application() {
        let d = device("derived:com.google.step_count.cumulative:com.google.android.gms:samsung:Galaxy Nexus:32b1bd9e:soft_step_counter").expect("device");
        assert_eq!(
            (
                d.name.as_str(),
                d.manufacturer.as_deref(),
                d.model.as_deref()
            ),
            ("Galaxy Nexus", Some("samsung"), Some("Galaxy Nexus"))
        );
        let d = device("raw:com.google.weight:com.fatsecret.android:").expect("device");
        assert_eq!(
            (d.name.as_str(), d.manufacturer, d.model),
            ("com.fatsecret.android", None, None)
        );
        assert!(device("").is_none());
    }

    #[test]
    fn other_data_types_and_shapes_are_refused_per_point() {
        let input: Value = serde_json::from_str(
            r#"{"point": [
                {"startTimeNanos": "1", "endTimeNanos": "1", "dataTypeName": "com.google.calories.expended", "value": [{"fpVal": 1.5}]},
                {"startTimeNanos": "1", "endTimeNanos": "1", "dataTypeName": "com.google.weight", "value": [{"intVal": 70}]},
                {"startTimeNanos": "x", "endTimeNanos": "1", "dataTypeName": "com.google.weight", "value": [{"fpVal": 70}]}
            ]}"#,
        )
        .expect("json");
        let m = dataset_to_observations(&input, &ctx()).expect("dataset");
        let errors: Vec<MappingError> =
            m.observations.into_iter().filter_map(Result::err).collect();
        assert!(matches!(errors[0], MappingError::UnknownMeasure { .. }));
        assert!(matches!(errors[1], MappingError::Invalid { .. }));
        assert!(matches!(errors[2], MappingError::TimeFrame { .. }));
        assert!(dataset_to_observations(&Value::Null, &ctx()).is_err());
    }
}
