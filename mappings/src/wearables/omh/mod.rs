//! Open mHealth data points (<https://www.openmhealth.org/documentation/#/schema-docs/schema-library>)
//! ⇄ FHIR R4 Observations: the data-point envelope (`header` + `body`, data-point 1.0) and
//! bare bodies, single or in a JSON array.

pub mod activity;
pub mod body;
pub mod datapoint;
pub mod reverse;
pub mod timeframe;

pub use datapoint::{data_point_to_observation, data_points_to_observations};
pub use reverse::observation_to_data_point;

#[cfg(test)]
mod tests;
