//! Fitbit Web API payloads (<https://dev.fitbit.com/build/reference/web-api/>) → FHIR R4
//! Observations: heart-rate and steps intraday (`activities/heart`, `activities/steps` with
//! `-intraday`), body weight logs (`body/log/weight`) and sleep logs (`sleep/date`).
//!
//! Fitbit times carry no offset: they are local to the user's profile zone. They are placed
//! in the caller's IANA zone ([`crate::wearables::Context::time_zone`]); without one they
//! keep date precision and [`Mapped::warnings`] says so.

pub mod intraday;
pub mod logs;

use serde_json::Value;

use crate::MappingError;
use crate::wearables::{Context, Mapped};

/// Warning added when no zone was given.
pub const NO_ZONE_WARNING: &str =
    "fitbit times have no offset and no time zone was given: times kept at date precision";

/// Maps one Fitbit payload, recognised by its top-level key.
///
/// Errors: [`MappingError::UnknownMeasure`] when no known key is present,
/// [`MappingError::Invalid`] when the payload's shape is wrong.
pub fn payload_to_observations(input: &Value, ctx: &Context) -> Result<Mapped, MappingError> {
    let mut mapped = if input.get("activities-heart-intraday").is_some() {
        intraday::heart_intraday_to_observations(input, ctx)?
    } else if input.get("activities-steps-intraday").is_some() {
        intraday::steps_intraday_to_observations(input, ctx)?
    } else if input.get("weight").is_some() {
        logs::weight_log_to_observations(input, ctx)?
    } else if input.get("sleep").is_some() {
        logs::sleep_log_to_observations(input, ctx)?
    } else {
        return Err(MappingError::UnknownMeasure {
            format: "fitbit",
            measure: "a payload without activities-heart-intraday, activities-steps-intraday, weight or sleep".into(),
        });
    };
    if ctx.time_zone.is_none() && !mapped.observations.is_empty() {
        mapped.warnings.push(NO_ZONE_WARNING.into());
    }
    Ok(mapped)
}

/// Local `date` + `time` in the context's zone (or the date alone).
pub(crate) fn local(ctx: &Context, measure: &str, date_time: &str) -> Result<String, MappingError> {
    crate::wearables::time::local(date_time, ctx.time_zone.as_ref()).map_err(|detail| {
        MappingError::TimeFrame {
            format: "fitbit",
            measure: measure.into(),
            detail,
        }
    })
}

/// The zone's name for hashes (`floating` without one), so the same local time in two zones
/// gives two identifiers.
pub(crate) fn zone_key(ctx: &Context) -> String {
    ctx.time_zone
        .as_ref()
        .and_then(|z| z.iana_name().map(str::to_owned))
        .unwrap_or_else(|| "floating".into())
}
