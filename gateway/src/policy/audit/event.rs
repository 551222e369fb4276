//! One FHIR R4 AuditEvent per request, in the IHE Basic Audit Log Patterns (BALP) shape
//! for RESTful activity (BALP 1.1 §1:52.4 "Basic AuditEvent pattern"; FHIR R4 §6.4
//! AuditEvent): `type` = DICOM/`audit-event-type#rest`, `subtype` = the FHIR
//! `restful-interaction`, `action` C/R/U/D/E, `outcome` 0/4/8, agents for the client
//! application (with its network address) and the user, entities for the patient, the
//! resource or the query, and the request id; `source` is this gateway instance.

use std::borrow::Cow;
use std::net::IpAddr;

use base64::Engine as _;
use fhirgate_adapters::Interaction;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::policy::principal::Caller;

/// What the audit layer knows about the request.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The interaction, when the path parsed.
    pub interaction: Option<Interaction>,
    /// Resource type from the path.
    pub resource_type: Option<String>,
    /// Logical id from the path.
    pub id: Option<String>,
    /// The raw query string (kept only inside the audit record, base64 per BALP).
    pub query: Option<String>,
    /// Patient ids the request names (path, `patient`/`subject` parameters).
    pub patients: Vec<String>,
    /// The request id (X-Request-Id).
    pub request_id: String,
}

/// The searchable summary stored beside a record.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// `recorded`, RFC 3339 UTC with milliseconds.
    pub recorded: String,
    /// `action` code.
    pub action: String,
    /// `Patient/id` references.
    pub patients: Vec<String>,
    /// Agent identifiers: client id and `fhirUser` reference.
    pub agents: Vec<String>,
}

/// FHIR `AuditEvent.action` (R4 value set `audit-event-action`) for an interaction.
pub fn action(interaction: Option<Interaction>) -> &'static str {
    match interaction {
        Some(Interaction::Create) => "C",
        Some(Interaction::Update | Interaction::Patch) => "U",
        Some(Interaction::Delete) => "D",
        Some(Interaction::Batch | Interaction::Transaction | Interaction::Operation) | None => "E",
        Some(_) => "R",
    }
}

/// BALP profile canonical URL for the interaction (BALP 1.1 §1:52.5).
fn profile(interaction: Option<Interaction>) -> String {
    let name = match interaction {
        Some(Interaction::Create) => "Create",
        Some(Interaction::Update | Interaction::Patch) => "Update",
        Some(Interaction::Delete) => "Delete",
        Some(Interaction::SearchType | Interaction::SearchSystem) => "Query",
        Some(
            Interaction::Read
            | Interaction::Vread
            | Interaction::HistoryInstance
            | Interaction::HistoryType
            | Interaction::HistorySystem
            | Interaction::Capabilities,
        ) => "Read",
        // Batches, transactions and operations: the base RESTful pattern.
        _ => "Execute",
    };
    format!("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.{name}")
}

/// `AuditEvent.outcome`: 0 success, 4 minor failure (4xx: refused, not found), 8 serious
/// failure (5xx).
fn outcome(status: u16) -> &'static str {
    match status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    }
}

/// A `Coding` with its display (R4 §2.24.0.3).
#[derive(Serialize)]
struct Coding<'a> {
    system: &'a str,
    code: &'a str,
    display: &'a str,
}

const fn coding<'a>(system: &'a str, code: &'a str, display: &'a str) -> Coding<'a> {
    Coding {
        system,
        code,
        display,
    }
}

#[derive(Serialize)]
struct CodeableConcept<'a> {
    coding: [Coding<'a>; 1],
}

#[derive(Serialize)]
struct Identifier<'a> {
    value: &'a str,
}

/// `Reference` with exactly the elements the record uses.
#[derive(Serialize, Default)]
struct Reference<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<Cow<'a, str>>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct Network {
    address: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Agent<'a> {
    #[serde(rename = "type")]
    kind: CodeableConcept<'a>,
    who: Reference<'a>,
    requestor: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network>,
}

#[derive(Serialize)]
struct Entity<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<Reference<'a>>,
    #[serde(rename = "type")]
    kind: Coding<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Coding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

#[derive(Serialize)]
struct Meta {
    profile: [String; 1],
}

#[derive(Serialize)]
struct Source<'a> {
    observer: Reference<'a>,
    #[serde(rename = "type")]
    kind: [Coding<'a>; 1],
}

/// The R4 AuditEvent as written to the trail (field order as in the R4 definition). Built
/// as borrowed typed parts and serialized once: no intermediate `serde_json::Value`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent<'a> {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    #[serde(rename = "type")]
    kind: Coding<'a>,
    subtype: [Coding<'a>; 1],
    action: &'static str,
    recorded: &'a str,
    outcome: &'static str,
    outcome_desc: String,
    agent: Vec<Agent<'a>>,
    source: Source<'a>,
    entity: Vec<Entity<'a>>,
}

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";

/// The search index of one record (`recorded`, `action`, patients, agents).
pub fn index(info: &RequestInfo, caller: &Caller) -> Index {
    let mut patients: Vec<String> = info
        .patients
        .iter()
        .map(|p| format!("Patient/{p}"))
        .collect();
    if patients.is_empty()
        && let Some(p) = caller.principal.as_ref().and_then(|p| p.patient.as_ref())
    {
        patients.push(format!("Patient/{p}"));
    }
    let principal = caller.principal.as_ref();
    let agents = principal
        .map(|p| p.client_id.clone())
        .into_iter()
        .chain(principal.and_then(|p| p.fhir_user.clone()))
        .collect();
    Index {
        recorded: now(),
        action: action(info.interaction).into(),
        patients,
        agents,
    }
}

/// The AuditEvent for one answered request with HTTP `status`, from its `index` (see
/// [`index`]); `instance` is this gateway (`source.observer`).
pub fn build<'a>(
    info: &'a RequestInfo,
    caller: &'a Caller,
    status: u16,
    instance: &'a str,
    index: &'a Index,
) -> AuditEvent<'a> {
    let principal = caller.principal.as_ref();
    let mut agents = Vec::with_capacity(3);
    agents.push(Agent {
        kind: CodeableConcept {
            coding: [coding(DCM, "110153", "Source Role ID")],
        },
        who: Reference {
            identifier: Some(Identifier {
                value: principal.map_or("unauthenticated", |p| p.client_id.as_str()),
            }),
            ..Reference::default()
        },
        requestor: principal.is_none_or(|p| p.fhir_user.is_none()),
        network: caller.ip.map(|ip| Network {
            address: ip.to_string(),
            kind: network_type(ip),
        }),
    });
    if let Some(user) = principal.and_then(|p| p.fhir_user.as_deref()) {
        agents.push(Agent {
            kind: CodeableConcept {
                coding: [coding(
                    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "IRCP",
                    "information recipient",
                )],
            },
            who: Reference {
                reference: Some(Cow::Borrowed(user)),
                ..Reference::default()
            },
            requestor: true,
            network: None,
        });
    }
    agents.push(Agent {
        kind: CodeableConcept {
            coding: [coding(DCM, "110152", "Destination Role ID")],
        },
        who: Reference {
            display: Some(instance),
            ..Reference::default()
        },
        requestor: false,
        network: None,
    });
    let mut entities: Vec<Entity<'a>> = index
        .patients
        .iter()
        .map(|p| Entity {
            what: Some(Reference {
                reference: Some(Cow::Borrowed(p)),
                ..Reference::default()
            }),
            kind: coding(ENTITY_TYPE, "1", "Person"),
            role: Some(coding(OBJECT_ROLE, "1", "Patient")),
            description: None,
            query: None,
        })
        .collect();
    let object = |what: Reference<'a>| Entity {
        what: Some(what),
        kind: coding(ENTITY_TYPE, "2", "System Object"),
        role: Some(coding(OBJECT_ROLE, "4", "Domain Resource")),
        description: None,
        query: None,
    };
    match (&info.resource_type, &info.id, info.interaction) {
        (_, _, Some(Interaction::SearchType | Interaction::SearchSystem)) => {
            entities.push(Entity {
                what: None,
                kind: coding(ENTITY_TYPE, "2", "System Object"),
                role: Some(coding(OBJECT_ROLE, "24", "Query")),
                description: Some(info.resource_type.as_deref().unwrap_or_default()),
                query: Some(
                    base64::engine::general_purpose::STANDARD
                        .encode(info.query.as_deref().unwrap_or_default()),
                ),
            });
        }
        (Some(rt), Some(id), _) => entities.push(object(Reference {
            reference: Some(Cow::Owned(format!("{rt}/{id}"))),
            ..Reference::default()
        })),
        (Some(rt), None, _) => entities.push(object(Reference {
            kind: Some(rt),
            ..Reference::default()
        })),
        _ => {}
    }
    entities.push(Entity {
        what: Some(Reference {
            identifier: Some(Identifier {
                value: &info.request_id,
            }),
            ..Reference::default()
        }),
        kind: coding(
            "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
            "XrequestId",
            "X-Request-Id",
        ),
        role: None,
        description: None,
        query: None,
    });
    let subtype = info.interaction.map_or("operation", Interaction::code);
    AuditEvent {
        resource_type: "AuditEvent",
        id: uuid::Uuid::new_v4().to_string(),
        meta: Meta {
            profile: [profile(info.interaction)],
        },
        kind: coding(
            "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "rest",
            "RESTful Operation",
        ),
        subtype: [coding(
            "http://hl7.org/fhir/restful-interaction",
            subtype,
            subtype,
        )],
        action: action(info.interaction),
        recorded: &index.recorded,
        outcome: outcome(status),
        outcome_desc: format!("HTTP {status}"),
        agent: agents,
        source: Source {
            observer: Reference {
                display: Some(instance),
                ..Reference::default()
            },
            kind: [coding(
                "http://terminology.hl7.org/CodeSystem/security-source-type",
                "4",
                "Application Server",
            )],
        },
        entity: entities,
    }
}

/// `AuditEvent.agent.network.type`: 2 = IP address.
fn network_type(_ip: IpAddr) -> &'static str {
    "2"
}

/// Now as RFC 3339 UTC with milliseconds (sortable as text).
fn now() -> String {
    let t = OffsetDateTime::now_utc();
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// The index of a stored event (for sinks that keep no separate index, e.g. JSON lines).
pub fn index_of(event: &Value) -> Index {
    let strings = |v: &Value| v.as_str().map(str::to_owned);
    let entity_refs = event["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["role"]["code"] == "1");
    let mut agents = Vec::new();
    for a in event["agent"].as_array().into_iter().flatten() {
        if a["type"]["coding"][0]["code"] == "110152" {
            continue;
        }
        agents.extend(strings(&a["who"]["identifier"]["value"]));
        agents.extend(strings(&a["who"]["reference"]));
    }
    Index {
        recorded: strings(&event["recorded"]).unwrap_or_default(),
        action: strings(&event["action"]).unwrap_or_default(),
        patients: entity_refs
            .filter_map(|e| strings(&e["what"]["reference"]))
            .collect(),
        agents,
    }
}
