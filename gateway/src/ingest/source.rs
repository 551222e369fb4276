//! The wearable source formats and a synchronous driver that maps any `BufRead` reading by
//! reading, shared by `fhirgate map` and `$ingest` (which bridges the request body to it).
//!
//! Memory: Open mHealth arrays are deserialized one element at a time (a serde sequence
//! visitor), HealthKit `export.xml` through the streaming [`ExportReader`]; a Fitbit payload
//! (one day of one series) is read whole.

use std::fmt;
use std::io::{BufRead, Read};
use std::str::FromStr;

use fhirgate_mappings::MappingError;
use fhirgate_mappings::wearables::healthkit::ExportReader;
use fhirgate_mappings::wearables::{Context, Observation, fitbit, googlefit, omh};
use serde::Deserialize;
use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A wearable source format (`--from` / `?format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Open mHealth data points (JSON).
    Omh,
    /// Apple HealthKit `export.xml`.
    Healthkit,
    /// Fitbit Web API JSON.
    Fitbit,
    /// Google Fit REST dataset JSON.
    Googlefit,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "omh" => Ok(Self::Omh),
            "healthkit" => Ok(Self::Healthkit),
            "fitbit" => Ok(Self::Fitbit),
            "googlefit" => Ok(Self::Googlefit),
            other => Err(format!(
                "unknown wearable format {other:?} (omh, healthkit, fitbit, googlefit)"
            )),
        }
    }
}

impl Format {
    /// Whether a body declared as `content_type` (any parameters ignored) can be this
    /// format: XML types (`application/xml`, `text/xml`, `+xml`) for HealthKit, JSON types
    /// (`application/json`, `application/x-ndjson`, `+json`) for the others. A body declared
    /// as the other family is refused with 415 (RFC 9110 §15.5.16), not parsed as this one.
    pub fn accepts(self, content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match self {
            Self::Healthkit => {
                matches!(essence.as_str(), "application/xml" | "text/xml")
                    || essence.ends_with("+xml")
            }
            Self::Omh | Self::Fitbit | Self::Googlefit => {
                matches!(
                    essence.as_str(),
                    "application/json" | "application/x-ndjson"
                ) || essence.ends_with("+json")
            }
        }
    }

    /// The media type of this format's body, as the 415 answer of `$ingest` names it
    /// (DESIGN.md: "JSON or XML per format"): HealthKit's `export.xml` is XML
    /// (`application/xml`, also taken as `text/xml`), the others are JSON.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Healthkit => "application/xml (or text/xml)",
            Self::Omh | Self::Fitbit | Self::Googlefit => "application/json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Omh => "omh",
            Self::Healthkit => "healthkit",
            Self::Fitbit => "fitbit",
            Self::Googlefit => "googlefit",
        })
    }
}

/// Why a whole input failed (as opposed to one reading).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input as a whole cannot be mapped (not JSON, wrong top-level shape…).
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The sink refused a reading (e.g. stdout closed, client gone).
    #[error("output failed: {0}")]
    Sink(String),
}

/// Maps `input` of `format`, calling `emit` once per reading in source order; returns the
/// warnings (those about single readings once each, then those about the whole input).
/// `emit` returning `Err` stops the mapping with [`SourceError::Sink`].
pub fn map_reader<R: BufRead>(
    format: Format,
    input: R,
    ctx: &Context,
    mut emit: impl FnMut(Result<Observation, MappingError>) -> Result<(), String>,
) -> Result<Vec<String>, SourceError> {
    let mut warnings: Vec<String> = Vec::new();
    let mut whole = map_readings(format, input, ctx, |item, about| {
        for w in about {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        emit(item)
    })?;
    warnings.append(&mut whole);
    Ok(warnings)
}

/// Like [`map_reader`], but `emit` also gets the warnings that concern that reading (a
/// Fitbit time kept at date precision for want of a zone), and the warnings returned are
/// only those about the input as a whole (HealthKit elements outside the mapped measures),
/// known at its end.
pub fn map_readings<R: BufRead>(
    format: Format,
    input: R,
    ctx: &Context,
    mut emit: impl FnMut(Result<Observation, MappingError>, &[String]) -> Result<(), String>,
) -> Result<Vec<String>, SourceError> {
    let name: &'static str = match format {
        Format::Omh => "omh",
        Format::Healthkit => "healthkit",
        Format::Fitbit => "fitbit",
        Format::Googlefit => "googlefit",
    };
    // Every reading of every format passes the value check (negative, beyond a double).
    let mut emit = move |item: Result<Observation, MappingError>, about: &[String]| {
        let item = item.and_then(|o| o.reading().check_values(name).map(|()| o));
        emit(item, about)
    };
    match format {
        Format::Healthkit => {
            let mut reader = ExportReader::new(input, ctx.clone());
            for item in reader.by_ref() {
                // Malformed XML (the reader's last item) is the input's defect, not a
                // reading's: it ends the input as malformed JSON does for the other formats.
                if let Err(e @ MappingError::Xml { .. }) = item {
                    return Err(SourceError::Mapping(e));
                }
                emit(item, &[]).map_err(SourceError::Sink)?;
            }
            Ok(reader.warnings())
        }
        Format::Fitbit => {
            // Fitbit's warnings (no zone) concern every reading of the payload.
            let value = read_json("fitbit", input)?;
            let mapped = fitbit::payload_to_observations(&value, ctx)?;
            for item in mapped.observations {
                emit(item, &mapped.warnings).map_err(SourceError::Sink)?;
            }
            Ok(Vec::new())
        }
        Format::Googlefit => {
            let value = read_json("googlefit", input)?;
            let mapped = googlefit::dataset_to_observations(&value, ctx)?;
            for item in mapped.observations {
                emit(item, &[]).map_err(SourceError::Sink)?;
            }
            Ok(mapped.warnings)
        }
        Format::Omh => {
            let mut sink_error = None;
            let mut each =
                |point: Value| match emit(omh::data_point_to_observation(&point, ctx), &[]) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        sink_error = Some(e.clone());
                        Err(e)
                    }
                };
            let mut de = serde_json::Deserializer::from_reader(input);
            let result = de.deserialize_any(Items(&mut each)).and_then(|()| de.end());
            if let Some(e) = sink_error {
                return Err(SourceError::Sink(e));
            }
            result.map_err(|e| MappingError::invalid("omh", json_detail(&e)))?;
            Ok(Vec::new())
        }
    }
}

fn json_detail(e: &serde_json::Error) -> String {
    format!("not a JSON data point or array: {e}")
}

fn read_json<R: Read>(format: &'static str, input: R) -> Result<Value, MappingError> {
    serde_json::from_reader(input)
        .map_err(|e| MappingError::invalid(format, format!("not JSON: {e}")))
}

/// Visits a top-level array element by element, or a single object.
struct Items<'a, F>(&'a mut F);

impl<'de, F: FnMut(Value) -> Result<(), String>> Visitor<'de> for Items<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a data point, a body or an array of them")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.0)(v).map_err(de::Error::custom)?;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        (self.0)(v).map_err(de::Error::custom)
    }
}
