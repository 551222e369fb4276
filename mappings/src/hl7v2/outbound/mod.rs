//! Outbound: FHIR R4 resources → HL7 v2 messages in the configured version (default 2.5.1),
//! written with the standard delimiters and CR segment terminators.
//!
//! [`appointment_to_siu`] (ch. 10) and [`encounter_to_adt`] (ch. 3) share the MSH ([`Out`]),
//! the PID ([`patient`]) and the data types ([`datatypes`]).

pub mod appointment;
pub mod datatypes;
pub mod encounter;
pub mod patient;

pub use appointment::appointment_to_siu;
pub use encounter::encounter_to_adt;

use serde_json::Value;

use super::write::{comps_of, esc, hd, msh, new_control_id};
use super::{INPUT_VERSIONS, Outbound, Related, WriteOptions};
use crate::MappingError;

/// State of one outbound message.
pub struct Out<'a> {
    /// The caller's options.
    pub opts: &'a WriteOptions,
    /// The resolved resources.
    pub related: &'a Related<'a>,
    /// `(major, minor, patch)` of the output version.
    pub version: (u8, u8, u8),
    /// Warnings (no PHI).
    pub warnings: Vec<String>,
    control_id: String,
    time: String,
}

impl<'a> Out<'a> {
    /// Checks the options and fixes the control id and time.
    ///
    /// Errors: [`MappingError::Invalid`] for a version outside [`INPUT_VERSIONS`].
    pub fn new(opts: &'a WriteOptions, related: &'a Related<'a>) -> Result<Self, MappingError> {
        if !INPUT_VERSIONS.contains(&opts.version.as_str()) {
            return Err(MappingError::invalid(
                "hl7v2",
                format!("output version {:?} is not one of 2.3–2.8.2", opts.version),
            ));
        }
        let version = super::version_tuple(&opts.version).unwrap_or((2, 5, 1));
        Ok(Self {
            opts,
            related,
            version,
            warnings: Vec::new(),
            control_id: opts.control_id.clone().unwrap_or_else(new_control_id),
            time: super::time::now_dtm(opts.message_time.unwrap_or_else(jiff::Timestamp::now)),
        })
    }

    /// Whether the output version is at least `2.<minor>`.
    pub fn at_least(&self, minor: u8) -> bool {
        self.version >= (2, minor, 0)
    }

    /// The message time (MSH-7, EVN-2).
    pub fn time(&self) -> &str {
        &self.time
    }

    /// Records a warning (no values).
    pub fn warn(&mut self, text: impl Into<String>) {
        let t = text.into();
        if !self.warnings.contains(&t) {
            self.warnings.push(t);
        }
    }

    /// The MSH for `code^event^structure` (MSH-9.3 from v2.3.1).
    pub fn msh(&self, code: &str, event: &str, structure: &str) -> String {
        let o = self.opts;
        let structure = (self.version >= (2, 3, 1)).then_some(structure);
        msh(&[
            (3, hd(&o.sending_application)),
            (4, hd(&o.sending_facility)),
            (5, hd(&o.receiving_application)),
            (6, hd(&o.receiving_facility)),
            (7, self.time.clone()),
            (9, comps_of(&[Some(code), Some(event), structure])),
            (10, esc(&self.control_id)),
            (11, esc(&o.processing_id)),
            (12, esc(&o.version)),
        ])
    }

    /// The resource `reference` (`Type/id`) points to, among the related ones.
    pub fn resolve(&self, reference: &str) -> Option<&'a Value> {
        if let Some((_, r)) = self.related.full_urls.iter().find(|(u, _)| u == reference) {
            return Some(r);
        }
        let (ty, id) = reference.rsplit_once('/')?;
        let ty = ty.rsplit('/').next()?;
        let hit = |r: &Value| r["resourceType"] == ty && r["id"] == id;
        self.related
            .patient
            .filter(|p| hit(p))
            .or_else(|| self.related.others.iter().copied().find(|r| hit(r)))
    }

    /// The finished message.
    pub fn finish(self, segments: &[String], event: &str) -> Outbound {
        Outbound {
            message: super::write::message(segments),
            control_id: self.control_id,
            event: event.to_owned(),
            warnings: self.warnings,
        }
    }
}

/// The trigger event: the explicit one (checked against `allowed`) or the status-derived
/// one from `by_status`.
///
/// Errors: [`MappingError::Invalid`] for an event not in `allowed`, or a status without a
/// default event.
pub fn event(
    explicit: Option<&str>,
    status: &str,
    by_status: &[(&str, &str)],
    allowed: &[&str],
    resource: &str,
) -> Result<String, MappingError> {
    if let Some(e) = explicit {
        if allowed.contains(&e) {
            return Ok(e.to_owned());
        }
        return Err(MappingError::invalid(
            "hl7v2",
            format!(
                "event {e} is not one fhirgate writes for {resource} ({})",
                allowed.join(", ")
            ),
        ));
    }
    super::codes::lookup(by_status, status)
        .map(str::to_owned)
        .ok_or_else(|| {
            MappingError::invalid(
                "hl7v2",
                format!(
                    "{resource}.status {status:?} has no default trigger event; name one ({})",
                    allowed.join(", ")
                ),
            )
        })
}

/// A string member, `None` when absent or empty.
pub fn s<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An array member (empty when absent).
pub fn arr<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
