//! [`Reading`]: what a source record says, in FHIR terms, before it becomes JSON
//! ([`super::Observation`]).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Number;

use crate::MappingError;
use crate::wearables::identifier::Identifier;
use crate::wearables::loinc::Measure;
use crate::wearables::time::Effective;

/// UCUM's code system URI.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// LOINC's code system URI.
pub const LOINC: &str = "http://loinc.org";
/// Code system for Open mHealth property names used as component codes where LOINC has no
/// code we could vouch for (sleep latencies, activity distance).
pub const OMH_PROPERTY: &str = "https://w3id.org/openmhealth/schemas/omh/property";

/// A quantity: exact value, the source's unit text and its UCUM code.
#[derive(Debug, Clone)]
pub struct Quantity {
    /// Exact decimal value.
    pub value: Number,
    /// Unit as the source wrote it (`Quantity.unit`); borrowed from the unit table when the
    /// source wrote it exactly as the table does.
    pub unit: Cow<'static, str>,
    /// UCUM code (`Quantity.code`).
    pub code: &'static str,
}

/// A component: code (system, code, display) and quantity.
#[derive(Debug, Clone)]
pub struct Component {
    /// Coding system.
    pub system: &'static str,
    /// Code.
    pub code: &'static str,
    /// Display.
    pub display: &'static str,
    /// Value.
    pub quantity: Quantity,
}

/// The device that made the reading (becomes a contained `Device`).
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    /// `Device.deviceName.name` (user-friendly-name).
    pub name: String,
    /// `Device.manufacturer`.
    pub manufacturer: Option<String>,
    /// `Device.modelNumber`.
    pub model: Option<String>,
    /// `Device.version.value` (software).
    pub software: Option<String>,
}

/// One mapped reading before it becomes JSON.
#[derive(Debug, Clone)]
pub struct Reading {
    /// What was measured.
    pub measure: Measure,
    /// When.
    pub effective: Effective,
    /// `valueQuantity` (absent for a blood-pressure panel).
    pub value: Option<Quantity>,
    /// `valueCodeableConcept.text` (physical activity's name).
    pub value_text: Option<String>,
    /// `component`s.
    pub components: Vec<Component>,
    /// `identifier`.
    pub identifier: Identifier,
    /// `device` (shared: a HealthKit export names the same device on most records).
    pub device: Option<Arc<DeviceInfo>>,
    /// `method.text`: a descriptive statistic (see `omh::body`).
    pub method: Option<String>,
    /// `bodySite.text`.
    pub body_site: Option<String>,
    /// `note.text`s.
    pub notes: Vec<String>,
}

impl Reading {
    /// Refuses values no device reading can have: a value that is not a finite IEEE 754
    /// double (`1e400`: FHIR JSON consumers read it as infinity or reject it) or a negative
    /// one (every measure mapped is a count, rate, mass, pressure, concentration, duration,
    /// proportion or body temperature in `Cel`, none of which is negative).
    ///
    /// Errors: [`MappingError::Invalid`] naming the value, for the reading to be refused.
    pub fn check_values(&self, format: &'static str) -> Result<(), MappingError> {
        let quantities = self
            .value
            .iter()
            .chain(self.components.iter().map(|c| &c.quantity));
        for q in quantities {
            let text = q.value.to_string();
            let plausible = text.parse::<f64>().is_ok_and(|v| v.is_finite() && v >= 0.0);
            if !plausible {
                return Err(MappingError::Invalid {
                    format,
                    detail: format!(
                        "value {text} {} is out of range (negative, or beyond a double)",
                        q.code
                    ),
                });
            }
        }
        Ok(())
    }

    /// A reading with only the required parts.
    pub fn new(measure: Measure, effective: Effective, identifier: Identifier) -> Self {
        Self {
            measure,
            effective,
            value: None,
            value_text: None,
            components: Vec::new(),
            identifier,
            device: None,
            method: None,
            body_site: None,
            notes: Vec::new(),
        }
    }
}
