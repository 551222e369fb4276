//! HL7 v2 (ER7) ⇄ FHIR R4: a small reader/writer and the mappings of issue 9.
//!
//! # API
//! ```text
//! parse(&[u8]) -> Result<Message, MappingError>                      ER7 bytes → segments
//! message_to_fhir(&Message, &Context) -> Result<Mapped, MappingError> SIU/ADT/ORU/RDE/ORM → FHIR
//! appointment_to_siu(&Value, &Related, &WriteOptions) -> Result<Outbound, MappingError>
//! encounter_to_adt(&Value, &Related, &WriteOptions) -> Result<Outbound, MappingError>
//! patient_to_pid(&Value, &WriteOptions, update: bool) -> String        one PID segment
//! ack(&Message, AckCode, Option<&str>) -> String                        MSA answer to a message
//! parse_ack(&Message) -> Result<Ack, MappingError>                      read an ACK back
//! ```
//! Inbound ([`inbound`]): SIU^S12–S26 → Appointment (+ Patient, Observations); ADT^A01–A08 →
//! Patient + Encounter; ORU^R01 → Patient + Observations; RDE^O11 → Patient +
//! MedicationRequest (+ Observations); ORM^O01 → Patient, Encounter, Observations. Other
//! message types are refused. Outbound ([`outbound`]): Appointment → SIU (S12 booked, S15
//! cancelled, S26 noshow, or an explicit S12/S13/S14/S15/S26), Encounter → ADT (A04
//! in-progress, A03 finished, or an explicit A04/A08/A03), version 2.5.1 unless configured.
//!
//! # Choices (the standards leave them open)
//! - **References**: each resource gets a `urn:uuid:` `fullUrl` derived from MSH-3, MSH-4,
//!   MSH-10 and its position (stable for a message); references between the resources use it,
//!   so a transaction Bundle resolves them. Practitioners, locations and devices named in
//!   PV1/AIx/ORC stay logical references (`identifier` + `display`). [`MappedResource`]
//!   carries an `ifNoneExist` query (`identifier=system|value`) for conditional creates.
//! - **Identifiers** (CX, EI, XCN ids; [`inbound::datatypes::authority_system`]): the
//!   assigning authority becomes `Identifier.system`: a configured namespace → system entry
//!   first; then HD-2/HD-3 (`ISO` → `urn:oid:…`, `UUID` → `urn:uuid:…`, `URI` → as is);
//!   the SSN and NPI OIDs and namespaces `SSA`/`USSSA`/`NPI` → `http://hl7.org/fhir/sid/us-ssn`
//!   / `us-npi`; any other namespace → `urn:fhirgate:hl7v2:assigning-authority:NS`
//!   (percent-encoded). CX-5 becomes `Identifier.type` (v2 table 0203). The reverse mapping
//!   restores CX-4 from these systems.
//! - **Empty vs `""`** (v2.5.1 §2.5.3): both leave the FHIR element absent. On create that is
//!   the whole story. For updates (A08, S13/S14) [`Mapped::nulled`] lists the elements whose
//!   field was `""`: a writer merging into a stored resource removes exactly those and keeps
//!   elements whose field was empty ("no change"); [`Mapped::defaulted`] lists elements
//!   the mapping filled with a default for an empty field (kept from the stored resource
//!   on merge). On output, an update (A08, S14) writes
//!   `""` for the PID fields fhirgate maps but the Patient lacks.
//! - **Times**: see [`time`]; offset-less times use [`Context::timezone`], else date precision
//!   plus one warning. `Appointment.start/end` are `instant`s, so without an offset or zone
//!   they are left out (with the warning).
//! - **Virtual visits**: table 0004 has no virtual class, so PV1-2 is `O` and the virtual
//!   nature rides in PV1-18 patient type = `VR` ([`VirtualMarker`], configurable). Inbound
//!   `O` is `AMB`, or `VR` with the marker. Appointment video details are the FHIR R5
//!   cross-version extension `Appointment.virtualService` ([`VIRTUAL_SERVICE`]); in SIU they
//!   travel as OBX segments in the patient group with local codes `VS-ADDRESS`,
//!   `VS-CHANNEL`, `VS-INFO` and `VS-SESSION-KEY` (coding system `L`).
//! - **Z-segments**: kept as one extension [`Z_SEGMENT`] (`valueString`: the segment's ER7
//!   text) per segment on the message's first resource, or dropped ([`ZSegments`]).

pub mod ack;
pub mod codes;
pub mod escape;
pub mod inbound;
pub mod message;
pub mod outbound;
pub mod parse;
pub mod time;
pub mod units;
pub mod write;

#[cfg(test)]
mod tests;

pub use ack::{Ack, AckCode, ack, parse_ack};
pub use inbound::message_to_fhir;
pub use message::{Delimiters, Message, Piece, Segment};
pub use outbound::{appointment_to_siu, encounter_to_adt, patient::patient_to_pid};
pub use parse::parse;

use crate::MappingError;

/// URL of the Z-segment extension: `valueString` holds one Z-segment as ER7 text.
pub const Z_SEGMENT: &str = "urn:fhirgate:extension:hl7v2-z-segment";

/// FHIR R5 `Appointment.virtualService` as an R4 cross-version extension (sub-extensions
/// `channelType` valueCoding, `address` valueUrl, `additionalInfo` valueUrl, `sessionKey`
/// valueString); <http://hl7.org/fhir/uv/xver-r5.r4>.
pub const VIRTUAL_SERVICE: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService";

/// Versions read on input (MSH-12): 2.3 to 2.8.x. Others are mapped with a warning.
pub const INPUT_VERSIONS: &[&str] = &[
    "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2",
];

/// Where the virtual nature of a visit travels: `PV1-<field>` = `value` (default PV1-18
/// patient type = `VR`; table 0018 is user-defined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMarker {
    /// PV1 field number.
    pub field: usize,
    /// The value that marks a virtual visit.
    pub value: String,
}

impl Default for VirtualMarker {
    fn default() -> Self {
        Self {
            field: 18,
            value: "VR".into(),
        }
    }
}

/// What to do with Z-segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZSegments {
    /// Keep each as a [`Z_SEGMENT`] extension (and write such extensions back out).
    #[default]
    Keep,
    /// Drop them.
    Drop,
}

/// Settings for inbound mapping.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Zone of the sender's local time, for times without an offset; `None` keeps them at
    /// date precision with a warning.
    pub timezone: Option<jiff::tz::TimeZone>,
    /// Z-segment handling.
    pub z_segments: ZSegments,
    /// Where a virtual visit is marked.
    pub virtual_marker: VirtualMarker,
    /// Assigning authority namespace (HD-1) → `Identifier.system`, consulted first.
    pub authorities: Vec<(String, String)>,
}

impl Context {
    /// A default context with the IANA zone `zone`.
    ///
    /// Errors: [`MappingError::Invalid`] (format `context`) for an unknown zone name.
    pub fn new(zone: Option<&str>) -> Result<Self, MappingError> {
        let timezone = zone
            .map(crate::wearables::time::zone)
            .transpose()
            .map_err(|e| MappingError::invalid("context", e))?;
        Ok(Self {
            timezone,
            ..Self::default()
        })
    }
}

/// One resource mapped from a message.
#[derive(Debug, Clone)]
pub struct MappedResource {
    /// `urn:uuid:…`, stable for the message; other resources reference it.
    pub full_url: String,
    /// The FHIR R4 resource (JSON).
    pub resource: serde_json::Value,
    /// Search for a conditional create, e.g. `identifier=urn:oid:1.2|123`, when the resource
    /// has an identifier.
    pub if_none_exist: Option<String>,
}

/// The result of mapping one message.
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    /// The resources, the message's focus first (Appointment, Encounter, …).
    pub resources: Vec<MappedResource>,
    /// Warnings (no PHI: field names and codes, never values).
    pub warnings: Vec<String>,
    /// FHIR elements whose v2 field was `""` (explicit null), e.g. `Patient.birthDate`.
    pub nulled: Vec<String>,
    /// FHIR elements filled with a default because their v2 field was empty (e.g.
    /// `Encounter.class` = `UNK` for an empty PV1-2, `Encounter.status` = `in-progress`
    /// when the event and PV1-45 say nothing, `Appointment.status` = `booked` when neither
    /// SCH-25 nor the event says): a writer merging into a stored resource keeps the stored
    /// value of these.
    pub defaulted: Vec<String>,
}

/// Resources an outbound mapping needs besides its focus, resolved by the caller: the
/// Patient, and any Practitioner, PractitionerRole, Location … the focus references.
#[derive(Debug, Clone, Default)]
pub struct Related<'a> {
    /// The subject Patient.
    pub patient: Option<&'a serde_json::Value>,
    /// Other referenced resources, matched by `resourceType/id`.
    pub others: Vec<&'a serde_json::Value>,
    /// `(fullUrl, resource)` pairs for references by absolute URL or `urn:uuid:` (Bundle
    /// entries).
    pub full_urls: Vec<(String, &'a serde_json::Value)>,
}

/// Settings for outbound messages.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// MSH-12 version, one of [`INPUT_VERSIONS`]; default `2.5.1`.
    pub version: String,
    /// Trigger event instead of the status-derived one (`S12`, `A08` …).
    pub event: Option<String>,
    /// MSH-3 sending application (default `FHIRGATE`). MSH-3 to MSH-6 are HD values
    /// (v2.5.1 §2.A.33) given as `namespace id` or `namespace id^universal id^universal id
    /// type`; each component is escaped when written ([`write::hd`]; check them with
    /// [`write::hd_problem`]).
    pub sending_application: String,
    /// MSH-4 sending facility (HD, as for MSH-3).
    pub sending_facility: String,
    /// MSH-5 receiving application (HD, as for MSH-3).
    pub receiving_application: String,
    /// MSH-6 receiving facility (HD, as for MSH-3).
    pub receiving_facility: String,
    /// MSH-11 processing id (`P` production, `T` training, `D` debugging).
    pub processing_id: String,
    /// MSH-10; `None` draws a new unique id.
    pub control_id: Option<String>,
    /// MSH-7/EVN-2 time; `None` is now (UTC).
    pub message_time: Option<jiff::Timestamp>,
    /// Where a virtual visit is marked.
    pub virtual_marker: VirtualMarker,
    /// Whether [`Z_SEGMENT`] extensions are written back as segments.
    pub z_segments: ZSegments,
    /// Namespace → system pairs, used in reverse for CX-4.
    pub authorities: Vec<(String, String)>,
    /// HD namespace written with a bare FHIR resource id (no identifier), default `FHIR`.
    pub id_authority: String,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            version: "2.5.1".into(),
            event: None,
            sending_application: "FHIRGATE".into(),
            sending_facility: String::new(),
            receiving_application: String::new(),
            receiving_facility: String::new(),
            processing_id: "P".into(),
            control_id: None,
            message_time: None,
            virtual_marker: VirtualMarker::default(),
            z_segments: ZSegments::Keep,
            authorities: Vec::new(),
            id_authority: "FHIR".into(),
        }
    }
}

/// One outbound message.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The message: segments each ended by CR.
    pub message: String,
    /// Its MSH-10 (the ACK's MSA-2 answers it).
    pub control_id: String,
    /// The trigger event written, e.g. `S12`.
    pub event: String,
    /// Warnings (no PHI).
    pub warnings: Vec<String>,
}

/// `(major, minor, patch)` of a version id such as `2.5.1`; `None` when unreadable.
pub fn version_tuple(v: &str) -> Option<(u8, u8, u8)> {
    let mut it = v.split('.').map(|p| p.parse::<u8>().ok());
    let major = it.next()??;
    let minor = it.next().flatten().unwrap_or(0);
    let patch = it.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}
