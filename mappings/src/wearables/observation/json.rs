//! [`Observation`]: one mapped reading and its subject, serialized straight to the FHIR R4
//! Observation JSON by a `serde::Serialize` impl over borrowed fields, with no intermediate
//! `serde_json::Value` (building one costs a map and a `String` key per element, which was
//! most of the mapping time). Values are `serde_json::Number`s, which the workspace's
//! `arbitrary_precision` writes digit for digit as the source gave them.
//!
//! Shape (R4 Observation, vital-signs profile <http://hl7.org/fhir/R4/observation-vitalsigns.html>),
//! in this order: `resourceType`; `meta.profile` where a vital-signs profile applies;
//! `contained` Device `#device`; `identifier`; `status` `final`; `category` from the measure
//! table; `code` LOINC (plus SpO2's second code) with `text`; `subject` `Patient/ID`;
//! `effectiveDateTime` or `effectivePeriod`; `valueQuantity` (UCUM `system`/`code`) or
//! `valueCodeableConcept.text`; `note`; `bodySite.text`; `method.text`; `device`;
//! `component`s.

use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::reading::{Component, DeviceInfo, LOINC, Quantity, Reading, UCUM};
use crate::wearables::identifier::Identifier;
use crate::wearables::loinc;
use crate::wearables::time::Effective;

/// One mapped Observation: a [`Reading`] about `subject` (`Patient/ID`). Serializes (serde)
/// as the FHIR R4 Observation JSON described in this module's docs.
#[derive(Debug, Clone)]
pub struct Observation {
    reading: Reading,
    subject: Arc<str>,
}

impl Observation {
    /// The Observation of `reading` about `subject` (`Patient/ID`).
    pub fn new(reading: Reading, subject: Arc<str>) -> Self {
        Self { reading, subject }
    }

    /// The mapped reading.
    pub fn reading(&self) -> &Reading {
        &self.reading
    }

    /// `Observation.identifier[0]`: what a conditional create searches for.
    pub fn identifier(&self) -> &Identifier {
        &self.reading.identifier
    }

    /// `Observation.subject.reference`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Appends the Observation JSON (compact, UTF-8) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and every key is a string.
        let _ = serde_json::to_writer(out, self);
    }

    /// The Observation JSON as a string.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The Observation as a `serde_json::Value` (decimals stay exact), for callers that
    /// inspect or edit it; [`Observation::write_json`] is the fast path.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The Observation JSON (compact), as `serde_json::Value`'s `Display` writes a value.
impl std::fmt::Display for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_json())
    }
}

#[derive(Serialize)]
struct Coding<'a> {
    system: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct Concept<'a, C: Serialize> {
    coding: C,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Reference<'a> {
    reference: &'a str,
}

#[derive(Serialize)]
struct IdentifierJson<'a> {
    system: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct Period<'a> {
    start: &'a str,
    end: &'a str,
}

#[derive(Serialize)]
struct QuantityJson<'a> {
    value: &'a serde_json::Number,
    unit: &'a str,
    system: &'static str,
    code: &'a str,
}

impl<'a> From<&'a Quantity> for QuantityJson<'a> {
    fn from(q: &'a Quantity) -> Self {
        Self {
            value: &q.value,
            unit: &q.unit,
            system: UCUM,
            code: q.code,
        }
    }
}

/// `meta.profile`: the vital-signs profile's canonical URL.
struct Meta(&'static str);

impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Url(&'static str);
        impl Serialize for Url {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("{}{}", loinc::PROFILE_BASE, self.0))
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("profile", &[Url(self.0)])?;
        m.end()
    }
}

/// The contained `Device` (id `device`).
struct DeviceJson<'a>(&'a DeviceInfo);

impl Serialize for DeviceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Name<'a> {
            name: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
        }
        #[derive(Serialize)]
        struct Version<'a> {
            value: &'a str,
        }
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("resourceType", "Device")?;
        m.serialize_entry("id", "device")?;
        m.serialize_entry(
            "deviceName",
            &[Name {
                name: &d.name,
                kind: "user-friendly-name",
            }],
        )?;
        if let Some(v) = &d.manufacturer {
            m.serialize_entry("manufacturer", v)?;
        }
        if let Some(v) = &d.model {
            m.serialize_entry("modelNumber", v)?;
        }
        if let Some(v) = &d.software {
            m.serialize_entry("version", &[Version { value: v }])?;
        }
        m.end()
    }
}

struct ComponentJson<'a>(&'a Component);

impl Serialize for ComponentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let code = Concept {
            coding: [Coding {
                system: c.system,
                code: c.code,
                display: Some(c.display),
            }],
            text: Some(c.display),
        };
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("code", &code)?;
        m.serialize_entry("valueQuantity", &QuantityJson::from(&c.quantity))?;
        m.end()
    }
}

/// A sequence serialized from an iterator that can be cloned (borrowed data only).
struct Seq<I>(I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

impl Serialize for Observation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.reading;
        let code = loinc::code_of(r.measure);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("resourceType", "Observation")?;
        if let Some(profile) = code.profile {
            m.serialize_entry("meta", &Meta(profile))?;
        }
        if let Some(d) = &r.device {
            m.serialize_entry("contained", &[DeviceJson(d)])?;
        }
        m.serialize_entry(
            "identifier",
            &[IdentifierJson {
                system: r.identifier.system,
                value: &r.identifier.value,
            }],
        )?;
        m.serialize_entry("status", "final")?;
        m.serialize_entry(
            "category",
            &[Concept {
                coding: [Coding {
                    system: loinc::CATEGORY_SYSTEM,
                    code: code.category.code(),
                    display: None,
                }],
                text: None,
            }],
        )?;
        let primary = Coding {
            system: LOINC,
            code: code.loinc.0,
            display: Some(code.loinc.1),
        };
        let text = Some(code.loinc.1);
        match code.also {
            Some((c, d)) => {
                let also = Coding {
                    system: LOINC,
                    code: c,
                    display: Some(d),
                };
                m.serialize_entry(
                    "code",
                    &Concept {
                        coding: [primary, also],
                        text,
                    },
                )?
            }
            None => m.serialize_entry(
                "code",
                &Concept {
                    coding: [primary],
                    text,
                },
            )?,
        }
        m.serialize_entry(
            "subject",
            &Reference {
                reference: &self.subject,
            },
        )?;
        match &r.effective {
            Effective::DateTime(t) => m.serialize_entry("effectiveDateTime", t)?,
            Effective::Period(start, end) => {
                m.serialize_entry("effectivePeriod", &Period { start, end })?
            }
        }
        if let Some(q) = &r.value {
            m.serialize_entry("valueQuantity", &QuantityJson::from(q))?;
        } else if let Some(t) = &r.value_text {
            m.serialize_entry("valueCodeableConcept", &Text { text: t })?;
        }
        if !r.notes.is_empty() {
            m.serialize_entry("note", &Seq(r.notes.iter().map(|n| Text { text: n })))?;
        }
        if let Some(t) = &r.body_site {
            m.serialize_entry("bodySite", &Text { text: t })?;
        }
        if let Some(t) = &r.method {
            m.serialize_entry("method", &Text { text: t })?;
        }
        if r.device.is_some() {
            m.serialize_entry(
                "device",
                &Reference {
                    reference: "#device",
                },
            )?;
        }
        if !r.components.is_empty() {
            m.serialize_entry("component", &Seq(r.components.iter().map(ComponentJson)))?;
        }
        m.end()
    }
}
