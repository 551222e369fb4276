//! Inbound: one parsed message → FHIR R4 resources ([`message_to_fhir`]).
//!
//! Dispatch is on MSH-9.1 (message code): `SIU` ([`appointment`]), `ADT` ([`encounter`]),
//! `ORU` and `ORM` (PID/PV1 plus [`observation`]), `RDE` ([`medication`]). Every PID
//! becomes a Patient ([`patient`]); other segments the mapping does not use are ignored.

pub mod appointment;
pub mod datatypes;
pub mod encounter;
pub mod medication;
pub mod observation;
pub mod patient;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::message::{Message, Piece, Segment};
use super::time::Dtm;
use super::{Context, INPUT_VERSIONS, Mapped, MappedResource, Z_SEGMENT, ZSegments};
use crate::MappingError;
use datatypes::pct;

/// State of one inbound mapping: the context, the message version and what it collected.
pub struct In<'a> {
    /// The caller's settings.
    pub ctx: &'a Context,
    /// MSH-12 as `(major, minor, patch)`.
    pub version: (u8, u8, u8),
    warnings: Vec<String>,
    nulled: Vec<String>,
    defaulted: Vec<String>,
    floating: bool,
    unknown_units: Vec<String>,
    seed: String,
    count: usize,
}

impl<'a> In<'a> {
    fn new(ctx: &'a Context, msg: &Message) -> Self {
        let version = msg
            .version()
            .and_then(|v| super::version_tuple(&v))
            .unwrap_or((2, 5, 1));
        let msh = msg.msh();
        let seed = format!(
            "{}|{}|{}",
            msh.field(3).raw(),
            msh.field(4).raw(),
            msh.field(10).raw()
        );
        Self {
            ctx,
            version,
            warnings: Vec::new(),
            nulled: Vec::new(),
            defaulted: Vec::new(),
            floating: false,
            unknown_units: Vec::new(),
            seed,
            count: 0,
        }
    }

    /// Whether the message is at least version `2.<minor>`.
    pub fn at_least(&self, minor: u8) -> bool {
        self.version >= (2, minor, 0)
    }

    /// Records a warning (no values in `text`).
    pub fn warn(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.warnings.contains(&text) {
            self.warnings.push(text);
        }
    }

    /// Records that `path` was sent as `""` when `piece` is null.
    pub fn null_check(&mut self, piece: Piece<'_>, path: &str) {
        if piece.is_null() {
            self.nulled.push(path.to_owned());
        }
    }

    /// Records that `path` was filled with a default because its field was empty.
    pub fn defaulted(&mut self, path: &str) {
        if !self.defaulted.iter().any(|p| p == path) {
            self.defaulted.push(path.to_owned());
        }
    }

    /// Records a unit without a UCUM code.
    pub fn unknown_unit(&mut self, unit: String) {
        if !self.unknown_units.contains(&unit) {
            self.unknown_units.push(unit);
        }
    }

    /// A new `urn:uuid:` for the next resource of this message (stable for the message).
    pub fn next_full_url(&mut self) -> String {
        self.count += 1;
        let h = Sha256::digest(format!("{}#{}", self.seed, self.count));
        let mut b = [0u8; 16];
        b.copy_from_slice(&h[..16]);
        b[6] = (b[6] & 0x0F) | 0x80; // version 8 (RFC 9562 custom)
        b[8] = (b[8] & 0x3F) | 0x80; // RFC variant
        format!("urn:uuid:{}", uuid::Uuid::from_bytes(b))
    }

    fn parse_dtm(&mut self, piece: Piece<'_>, label: &str) -> Option<Dtm> {
        let text = piece.text()?;
        match Dtm::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.warn(format!("{label}: {e}; left out"));
                None
            }
        }
    }

    /// A FHIR `dateTime` from a DTM/TS piece (first component), `label` naming the field.
    pub fn date_time(&mut self, piece: Piece<'_>, label: &str) -> Option<String> {
        let dtm = self.parse_dtm(piece, label)?;
        match dtm.to_date_time(self.ctx.timezone.as_ref()) {
            Some(t) => Some(t),
            None => {
                self.floating = true;
                Some(dtm.to_date())
            }
        }
    }

    /// A FHIR `instant`, or `None` (with the date-precision warning when the time floats).
    pub fn instant(&mut self, piece: Piece<'_>, label: &str) -> Option<String> {
        let dtm = self.parse_dtm(piece, label)?;
        let out = dtm.to_instant(self.ctx.timezone.as_ref());
        if out.is_none() && dtm.is_floating() {
            self.floating = true;
            self.warn(format!(
                "{label} has no UTC offset and no timezone is configured: left out (an instant needs one)"
            ));
        }
        out
    }

    /// A FHIR `date` (the DTM's date part).
    pub fn date(&mut self, piece: Piece<'_>, label: &str) -> Option<String> {
        Some(self.parse_dtm(piece, label)?.to_date())
    }

    /// The birth time as `dateTime` when it has a time and an offset or zone.
    pub fn birth_time(&mut self, piece: Piece<'_>) -> Option<String> {
        let dtm = self.parse_dtm(piece, "PID-7")?;
        if dtm.is_floating() && self.ctx.timezone.is_none() {
            self.floating = true;
            return None;
        }
        dtm.to_date_time(self.ctx.timezone.as_ref())
            .filter(|t| t.contains('T'))
    }

    fn finish(mut self, resources: Vec<MappedResource>) -> Mapped {
        if self.floating {
            self.warnings.push(
                "times without a UTC offset were kept at date precision: no timezone configured (set --timezone / the adapter's timezone)".into(),
            );
        }
        if !self.unknown_units.is_empty() {
            self.warnings.push(format!(
                "units without a UCUM code (kept as Quantity.unit only): {}",
                self.unknown_units.join(", ")
            ));
        }
        Mapped {
            resources,
            warnings: self.warnings,
            nulled: self.nulled,
            defaulted: self.defaulted,
        }
    }
}

/// A resource with its full URL and conditional-create query (`identifier=system|value`,
/// each part percent-encoded; only for an identifier with a system).
pub fn mapped(full_url: String, resource: Value) -> MappedResource {
    let id = &resource["identifier"][0];
    let if_none_exist = match (id["system"].as_str(), id["value"].as_str()) {
        (Some(s), Some(v)) => Some(format!("identifier={}|{}", pct(s), pct(v))),
        _ => None,
    };
    MappedResource {
        full_url,
        resource,
        if_none_exist,
    }
}

/// Maps one message (see the module docs for the message types).
///
/// Errors: [`MappingError::Invalid`] for an unsupported message type or a message without
/// the segments its type needs (e.g. SIU without SCH).
pub fn message_to_fhir(msg: &Message, ctx: &Context) -> Result<Mapped, MappingError> {
    let mut st = In::new(ctx, msg);
    match msg.version() {
        Some(v) if INPUT_VERSIONS.contains(&v.as_str()) => {}
        Some(_) => st.warn("MSH-12 names a version outside 2.3–2.8; read as 2.8"),
        None => st.warn("MSH-12 (version) is empty; read as 2.5.1"),
    }
    let code = msg.message_code();
    let mut resources = match code.as_str() {
        "SIU" => appointment::siu(msg, &mut st)?,
        "ADT" => encounter::adt(msg, &mut st)?,
        "ORU" | "ORM" | "OMG" | "OML" => observation::oru(msg, &mut st)?,
        "RDE" => medication::rde(msg, &mut st)?,
        "" => {
            return Err(MappingError::invalid(
                "hl7v2",
                "MSH-9 (message type) is empty",
            ));
        }
        other => {
            return Err(MappingError::invalid(
                "hl7v2",
                format!("message type {other} is not mapped (SIU, ADT, ORU, ORM, RDE are)"),
            ));
        }
    };
    if ctx.z_segments == ZSegments::Keep {
        add_z_segments(msg, &mut resources);
    }
    Ok(st.finish(resources))
}

fn add_z_segments(msg: &Message, resources: &mut [MappedResource]) {
    let Some(first) = resources.first_mut() else {
        return;
    };
    let z: Vec<Value> = msg
        .segments()
        .iter()
        .filter(|s| s.id().starts_with('Z'))
        .map(|s| json!({"url": Z_SEGMENT, "valueString": s.to_er7()}))
        .collect();
    if z.is_empty() {
        return;
    }
    if let Some(obj) = first.resource.as_object_mut() {
        let ext = obj.entry("extension").or_insert_with(|| json!([]));
        if let Some(a) = ext.as_array_mut() {
            a.extend(z);
        }
    }
}

/// The Patient of the message's first PID (required by every mapped type but ORU/ORM,
/// where a missing PID leaves the subject out).
pub fn patient_of(msg: &Message, st: &mut In<'_>) -> Option<(MappedResource, String)> {
    let pid = msg.segment("PID")?;
    let full_url = st.next_full_url();
    let resource = patient::pid_to_patient(pid, st);
    Some((mapped(full_url.clone(), resource), full_url))
}

/// Segments from `start` (inclusive) up to the next segment named in `stop`.
pub fn group<'m>(segments: &'m [Segment], start: usize, stop: &[&str]) -> &'m [Segment] {
    let end = segments[start + 1..]
        .iter()
        .position(|s| stop.contains(&s.id()))
        .map_or(segments.len(), |i| start + 1 + i);
    &segments[start..end]
}

/// Inserts `value` under `key` when it is not null, an empty array or an empty object.
pub fn put(obj: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    if !empty {
        obj.insert(key.to_owned(), value);
    }
}
