//! Mapped readings as FHIR R4 Observations: [`Reading`] holds what a source record says in
//! FHIR terms; [`Observation`] (a reading and its subject) serializes it to the Observation
//! JSON, exact decimals kept.

mod json;
mod reading;

pub use json::Observation;
pub use reading::{Component, DeviceInfo, LOINC, OMH_PROPERTY, Quantity, Reading, UCUM};

/// The Observation JSON of `reading` about `subject` (`Patient/ID`) as a `serde_json::Value`.
pub fn to_observation(reading: &Reading, subject: &str) -> serde_json::Value {
    Observation::new(reading.clone(), subject.into()).to_value()
}
