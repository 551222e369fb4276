//! Mapped readings as FHIR R4 Observations: [`Reading`] holds what a source record says in
//! FHIR terms; [`Observation`] (a reading and its subject) serializes it to the Observation
//! JSON, exact decimals kept.

mod json;
mod reading;

pub use json::Observation;
pub use reading::{Component, DeviceInfo, LOINC, OMH_PROPERTY, Quantity, Reading, UCUM};
