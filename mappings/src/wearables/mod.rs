//! Wearable readings ⇄ FHIR R4 Observations: Open mHealth ([`omh`]), Apple HealthKit
//! `export.xml` ([`healthkit`]), the Fitbit Web API ([`fitbit`]) and Google Fit REST
//! datasets ([`googlefit`]).
//!
//! Every source maps to [`Mapped`]: one `Result` per reading, so one bad reading never hides
//! the good ones, plus warnings (e.g. Fitbit times kept at date precision without a zone).
//! The measure and unit tables are data ([`loinc`], [`units`]); identifiers are the source's
//! id or a deterministic hash ([`identifier`]).

pub mod fitbit;
pub mod googlefit;
pub mod healthkit;
pub mod identifier;
pub mod loinc;
pub mod observation;
pub mod omh;
pub mod time;
pub mod units;

use std::sync::Arc;

use crate::MappingError;
pub use observation::Observation;

/// What the caller supplies, since wearable sources carry no patient identity or zone.
#[derive(Debug, Clone)]
pub struct Context {
    /// `Observation.subject.reference`, e.g. `Patient/123` (shared by every Observation).
    pub subject: Arc<str>,
    /// Zone for source times without an offset (Fitbit); `None` keeps them at date precision.
    pub time_zone: Option<jiff::tz::TimeZone>,
}

impl Context {
    /// A context for patient `id` and the optional IANA zone `zone`.
    ///
    /// Errors: [`MappingError::Invalid`] (format `context`) for an unknown zone name.
    pub fn new(patient_id: &str, zone: Option<&str>) -> Result<Self, MappingError> {
        let time_zone = zone
            .map(time::zone)
            .transpose()
            .map_err(|e| MappingError::invalid("context", e))?;
        Ok(Self {
            subject: format!("Patient/{patient_id}").into(),
            time_zone,
        })
    }
}

/// The result of mapping one input: per reading, an Observation or why it was refused.
#[derive(Debug, Default)]
pub struct Mapped {
    /// One entry per reading, in source order.
    pub observations: Vec<Result<Observation, MappingError>>,
    /// Warnings about the whole input (no PHI: no values, no times).
    pub warnings: Vec<String>,
}
