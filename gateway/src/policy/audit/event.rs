//! One FHIR R4 AuditEvent per request, in the IHE Basic Audit Log Patterns (BALP) shape
//! for RESTful activity (BALP 1.1 §1:52.4 "Basic AuditEvent pattern"; FHIR R4 §6.4
//! AuditEvent): `type` = DICOM/`audit-event-type#rest`, `subtype` = the FHIR
//! `restful-interaction`, `action` C/R/U/D/E, `outcome` 0/4/8, agents for the client
//! application (with its network address) and the user, entities for the patient, the
//! resource or the query, and the request id; `source` is this gateway instance.

use std::net::IpAddr;

use base64::Engine as _;
use fhirgate_adapters::Interaction;
use serde_json::{Value, json};
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

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

/// The AuditEvent for one answered request, and its search index.
pub fn build(info: &RequestInfo, caller: &Caller, status: u16, instance: &str) -> (Value, Index) {
    let recorded = now();
    let action = action(info.interaction);
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
    let client_id = caller.principal.as_ref().map(|p| p.client_id.clone());
    let mut client = json!({
        "type": {"coding": [coding("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID")]},
        "who": {"identifier": {"value": client_id.clone().unwrap_or_else(|| "unauthenticated".into())}},
        "requestor": caller.principal.as_ref().is_none_or(|p| p.fhir_user.is_none()),
    });
    if let Some(ip) = caller.ip {
        client["network"] = json!({"address": ip.to_string(), "type": network_type(ip)});
    }
    let mut agents = vec![client];
    let mut agent_ids: Vec<String> = client_id.into_iter().collect();
    if let Some(user) = caller.principal.as_ref().and_then(|p| p.fhir_user.clone()) {
        agents.push(json!({
            "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")]},
            "who": {"reference": user},
            "requestor": true,
        }));
        agent_ids.push(user);
    }
    agents.push(json!({
        "type": {"coding": [coding("http://dicom.nema.org/resources/ontology/DCM", "110152", "Destination Role ID")]},
        "who": {"display": instance},
        "requestor": false,
    }));
    let mut entities: Vec<Value> = patients
        .iter()
        .map(|p| json!({
            "what": {"reference": p},
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
        }))
        .collect();
    match (&info.resource_type, &info.id, info.interaction) {
        (_, _, Some(Interaction::SearchType | Interaction::SearchSystem)) => {
            let query = info.query.clone().unwrap_or_default();
            entities.push(json!({
                "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
                "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query"),
                "description": info.resource_type.clone().unwrap_or_default(),
                "query": base64::engine::general_purpose::STANDARD.encode(query),
            }));
        }
        (Some(rt), Some(id), _) => entities.push(json!({
            "what": {"reference": format!("{rt}/{id}")},
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource"),
        })),
        (Some(rt), None, _) => entities.push(json!({
            "what": {"type": rt},
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource"),
        })),
        _ => {}
    }
    entities.push(json!({
        "what": {"identifier": {"value": info.request_id}},
        "type": coding("https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "XrequestId", "X-Request-Id"),
    }));
    let subtype = info.interaction.map_or("operation", Interaction::code);
    let event = json!({
        "resourceType": "AuditEvent",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": {"profile": [profile(info.interaction)]},
        "type": coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
        "subtype": [coding("http://hl7.org/fhir/restful-interaction", subtype, subtype)],
        "action": action,
        "recorded": recorded,
        "outcome": outcome(status),
        "outcomeDesc": format!("HTTP {status}"),
        "agent": agents,
        "source": {
            "observer": {"display": instance},
            "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
        },
        "entity": entities,
    });
    let index = Index {
        recorded,
        action: action.into(),
        patients,
        agents: agent_ids,
    };
    (event, index)
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
