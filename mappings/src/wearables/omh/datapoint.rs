//! Open mHealth data points (data-point 1.0: `header` + `body`) and bare bodies, single or as
//! a JSON array, → FHIR R4 Observations.
//!
//! The envelope's `header.id` becomes `Observation.identifier` (system
//! [`identifier::OMH_ID`]), its `schema_id.name` selects the mapping (namespace `omh` only)
//! and `acquisition_provenance.source_name` the contained Device. A bare body is recognised
//! by its measure property and identified by the deterministic hash.

use serde_json::Value;

use super::body;
use crate::MappingError;
use crate::wearables::identifier;
use std::sync::Arc;

use crate::wearables::observation::{DeviceInfo, Observation};
use crate::wearables::{Context, Mapped};

/// Maps one data point or bare body to an Observation for `ctx.subject`.
///
/// Errors: not an object, unknown schema or namespace, and every body error of
/// [`body::body_to_reading`].
pub fn data_point_to_observation(
    point: &Value,
    ctx: &Context,
) -> Result<Observation, MappingError> {
    let Some(obj) = point.as_object() else {
        return Err(MappingError::invalid(
            "omh",
            "a data point must be a JSON object",
        ));
    };
    let reading = match (obj.get("header"), obj.get("body")) {
        (Some(header), Some(b)) => {
            let schema = &header["schema_id"];
            let namespace = schema["namespace"].as_str().unwrap_or("");
            let name = schema["name"]
                .as_str()
                .ok_or_else(|| MappingError::invalid("omh", "header.schema_id.name is missing"))?;
            if namespace != "omh" {
                return Err(MappingError::UnknownMeasure {
                    format: "omh",
                    measure: format!("{namespace}:{name}"),
                });
            }
            let mut r = body::body_to_reading(name, b)?;
            if let Some(id) = header["id"].as_str().filter(|s| !s.is_empty()) {
                r.identifier = identifier::source(identifier::OMH_ID, id);
            }
            if let Some(src) = header["acquisition_provenance"]["source_name"].as_str() {
                r.device = Some(Arc::new(DeviceInfo {
                    name: src.to_owned(),
                    ..DeviceInfo::default()
                }));
            }
            r
        }
        (None, None) => {
            let schema =
                body::detect_schema(point).ok_or_else(|| MappingError::UnknownMeasure {
                    format: "omh",
                    measure: "a body with no known measure property".into(),
                })?;
            body::body_to_reading(schema, point)?
        }
        _ => {
            return Err(MappingError::invalid(
                "omh",
                "a data point needs both header and body",
            ));
        }
    };
    Ok(Observation::new(reading, ctx.subject.clone()))
}

/// Maps a data point, a bare body, or a JSON array of either.
///
/// Errors: only when the input is neither an object nor an array; per-reading errors are in
/// [`Mapped::observations`].
pub fn data_points_to_observations(input: &Value, ctx: &Context) -> Result<Mapped, MappingError> {
    let observations = match input {
        Value::Array(points) => points
            .iter()
            .map(|p| data_point_to_observation(p, ctx))
            .collect(),
        Value::Object(_) => vec![data_point_to_observation(input, ctx)],
        _ => {
            return Err(MappingError::invalid(
                "omh",
                "expected a data point, a body or an array of them",
            ));
        }
    };
    Ok(Mapped {
        observations,
        warnings: Vec::new(),
    })
}
