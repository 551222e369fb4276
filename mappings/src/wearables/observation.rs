//! Builds the FHIR R4 Observation JSON for one [`Reading`], as `serde_json` so values keep
//! their exact decimal digits (DESIGN.md: typed models are lossy).
//!
//! Shape (R4 Observation, vital-signs profile <http://hl7.org/fhir/R4/observation-vitalsigns.html>):
//! `status` `final`; `category` from the measure table; `code` LOINC; `subject`
//! `Patient/ID`; `effectiveDateTime` or `effectivePeriod`; `valueQuantity` with UCUM
//! `system`/`code`; `component` for blood pressure and extras; `device` a contained Device.

use serde_json::{Map, Number, Value, json};

use super::identifier::Identifier;
use super::loinc::{self, Measure};
use super::time::Effective;

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
    /// Unit as the source wrote it (`Quantity.unit`).
    pub unit: String,
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
    /// `device`.
    pub device: Option<DeviceInfo>,
    /// `method.text`: a descriptive statistic (see `omh::body`).
    pub method: Option<String>,
    /// `bodySite.text`.
    pub body_site: Option<String>,
    /// `note.text`s.
    pub notes: Vec<String>,
}

impl Reading {
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

fn quantity(q: &Quantity) -> Value {
    json!({"value": Value::Number(q.value.clone()), "unit": q.unit, "system": UCUM, "code": q.code})
}

/// The Observation for `reading` about `subject` (`Patient/ID`).
pub fn to_observation(reading: &Reading, subject: &str) -> Value {
    let code = loinc::code_of(reading.measure);
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Observation"));
    if let Some(profile) = loinc::profile_url(code) {
        o.insert("meta".into(), json!({"profile": [profile]}));
    }
    if let Some(d) = &reading.device {
        let mut dev = json!({"resourceType": "Device", "id": "device",
            "deviceName": [{"name": d.name, "type": "user-friendly-name"}]});
        if let Some(m) = &d.manufacturer {
            dev["manufacturer"] = json!(m);
        }
        if let Some(m) = &d.model {
            dev["modelNumber"] = json!(m);
        }
        if let Some(s) = &d.software {
            dev["version"] = json!([{"value": s}]);
        }
        o.insert("contained".into(), json!([dev]));
    }
    o.insert(
        "identifier".into(),
        json!([{"system": reading.identifier.system, "value": reading.identifier.value}]),
    );
    o.insert("status".into(), json!("final"));
    o.insert(
        "category".into(),
        json!([{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": code.category.code()}]}]),
    );
    let mut codings = vec![json!({"system": LOINC, "code": code.loinc.0, "display": code.loinc.1})];
    if let Some((c, d)) = code.also {
        codings.push(json!({"system": LOINC, "code": c, "display": d}));
    }
    o.insert(
        "code".into(),
        json!({"coding": codings, "text": code.loinc.1}),
    );
    o.insert("subject".into(), json!({"reference": subject}));
    match &reading.effective {
        Effective::DateTime(t) => o.insert("effectiveDateTime".into(), json!(t)),
        Effective::Period(s, e) => {
            o.insert("effectivePeriod".into(), json!({"start": s, "end": e}))
        }
    };
    if let Some(q) = &reading.value {
        o.insert("valueQuantity".into(), quantity(q));
    } else if let Some(t) = &reading.value_text {
        o.insert("valueCodeableConcept".into(), json!({"text": t}));
    }
    if !reading.notes.is_empty() {
        let notes: Vec<Value> = reading.notes.iter().map(|n| json!({"text": n})).collect();
        o.insert("note".into(), Value::Array(notes));
    }
    if let Some(s) = &reading.body_site {
        o.insert("bodySite".into(), json!({"text": s}));
    }
    if let Some(m) = &reading.method {
        o.insert("method".into(), json!({"text": m}));
    }
    if reading.device.is_some() {
        o.insert("device".into(), json!({"reference": "#device"}));
    }
    if !reading.components.is_empty() {
        let comps: Vec<Value> = reading
            .components
            .iter()
            .map(|c| json!({"code": {"coding": [{"system": c.system, "code": c.code, "display": c.display}], "text": c.display},
                "valueQuantity": quantity(&c.quantity)}))
            .collect();
        o.insert("component".into(), Value::Array(comps));
    }
    Value::Object(o)
}
