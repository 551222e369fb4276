//! Outbound: an Appointment or Encounter write routed to this adapter becomes a SIU or ADT
//! message, stored durably in the outbox (answered once stored), and the dispatcher sends it
//! over MLLP and reads the ACK (HL7 v2.5.1 §2.9.2 original mode, §2.9.3 enhanced mode).
//!
//! # The answer
//! The adapter answers like a FHIR server that accepted the write: `201 Created` (create) or
//! `200 OK` (update) with the resource as sent, its `id` and (when known) `meta.versionId`,
//! and a `Location`. As a *secondary* target (`adapters: [store, ehr-v2]`) that answer is
//! not the client's; the id and version come from the primary's `Location`, which the edge
//! passes in the internal header [`PRIMARY_LOCATION`]. As the only target of a create, the
//! adapter assigns a UUID id itself (the resource then exists only in the HL7 v2 EHR).
//!
//! # Durability
//! The message is on disk (SQLite `synchronous=FULL`) before the answer. The enqueue is a
//! local write, retried 3 times; if it still fails the adapter answers 503 and logs the
//! resource type and id at error level (as a secondary, the client already has the store's
//! answer: that log line is the operator's cue to re-send the write).

use std::time::Duration;

use fhirgate_conformance::IssueCode;
use fhirgate_mappings::hl7v2::{AckCode, Related, appointment_to_siu, encounter_to_adt};
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::mllp::{SendError, exchange};
use super::store::{Core, local_target};
use crate::interaction::Interaction;
use crate::outbox::{Deliver, Delivery, Enqueued, Message, MessageState, NewMessage};
use crate::outcome::{error_response, json_response};
use crate::{AdapterError, FhirRequest, FhirResponse};

/// Internal request header the edge sets on a write's secondary targets: the primary's
/// `Location` (`…/Type/id/_history/n`), so a secondary of a create learns the id.
pub const PRIMARY_LOCATION: &str = "x-fhirgate-primary-location";

/// Accepts a create or update of an Appointment or Encounter (see the module docs).
///
/// Errors: [`AdapterError::Unavailable`] when the outbox cannot store the message; store
/// failures while resolving references.
pub(crate) async fn accept(core: &Core, req: FhirRequest) -> Result<FhirResponse, AdapterError> {
    let rt = req.resource_type.clone().unwrap_or_default();
    let mut resource: Value = match serde_json::from_slice(&req.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                IssueCode::Structure,
                "the body is not a JSON resource",
            ));
        }
    };
    if resource["resourceType"] != rt.as_str() {
        return Ok(error_response(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("resourceType must be {rt}"),
        ));
    }
    let create = req.interaction == Interaction::Create;
    let primary = req
        .headers
        .get(PRIMARY_LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| parse_location(loc, &rt));
    let (id, version) = match (&primary, &req.id) {
        (Some((id, v)), _) => (id.clone(), v.clone()),
        (None, Some(id)) => (id.clone(), None),
        (None, None) => (uuid::Uuid::new_v4().to_string(), None),
    };
    resource["id"] = Value::String(id.clone());
    if let Some(v) = &version {
        resource["meta"]["versionId"] = Value::String(v.clone());
    }
    if core.config.send.is_none() {
        return Ok(error_response(
            StatusCode::NOT_IMPLEMENTED,
            IssueCode::NotSupported,
            format!("adapter {} has no send: destination", core.name),
        ));
    }
    let fetched = related(core, &resource, &req.base_url).await?;
    let patient = fetched.iter().find(|r| r["resourceType"] == "Patient");
    let rel = Related {
        patient,
        others: fetched.iter().collect(),
        full_urls: Vec::new(),
    };
    let mut opts = core.write.clone();
    opts.event = event(&resource, create);
    let mapped = if rt == "Appointment" {
        appointment_to_siu(&resource, &rel, &opts)
    } else {
        encounter_to_adt(&resource, &rel, &opts)
    };
    let out = match mapped {
        Ok(o) => o,
        Err(e) => {
            return Ok(error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                IssueCode::Processing,
                format!("cannot be sent as HL7 v2: {e}"),
            ));
        }
    };
    let code = if rt == "Appointment" { "SIU" } else { "ADT" };
    let dedupe_key = match &version {
        Some(v) => format!("{rt}/{id}/_history/{v}"),
        None => format!(
            "{rt}/{id}#{}",
            Sha256::digest(&req.body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    };
    let message = NewMessage {
        dedupe_key,
        message_id: out.control_id.clone(),
        destination: destination(core),
        kind: format!("{code}^{}", out.event),
        payload: out.message,
        context: String::new(),
        state: MessageState::Ready,
    };
    let stored = enqueue(core, message, &rt, &id).await?;
    tracing::info!(adapter = %core.name, resource = %rt, id = %id, control_id = %stored.message_id, kind = %stored.kind, "HL7 v2 message queued");
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, &resource);
    let loc = match &version {
        Some(v) => format!("{}/{rt}/{id}/_history/{v}", req.base_url),
        None => format!("{}/{rt}/{id}", req.base_url),
    };
    if let Ok(h) = HeaderValue::from_str(&loc) {
        response.headers.insert(header::LOCATION, h);
    }
    Ok(response)
}

/// The trigger event: a create lets the status decide (S12/S15/S26, A04/A03); an update is
/// S14 (modification, v2.5.1 §10.3.3) unless cancelled/noshow, and A08 unless finished.
fn event(resource: &Value, create: bool) -> Option<String> {
    if create {
        return None;
    }
    let status = resource["status"].as_str().unwrap_or_default();
    match resource["resourceType"].as_str() {
        Some("Appointment") if !matches!(status, "cancelled" | "noshow") => Some("S14".into()),
        Some("Encounter") if status != "finished" => Some("A08".into()),
        _ => None,
    }
}

/// Stores `message`, retrying a failed local write 3 times (10, 40, 160 ms apart).
async fn enqueue(
    core: &Core,
    message: NewMessage,
    rt: &str,
    id: &str,
) -> Result<Message, AdapterError> {
    let mut last = None;
    for delay in [0u64, 10, 40, 160] {
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        match core.outbox.enqueue(message.clone()).await {
            Ok(Enqueued::New(m) | Enqueued::Existing(m)) => return Ok(m),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or(AdapterError::Unavailable {
        adapter: core.name.clone(),
        detail: "outbox".into(),
    });
    tracing::error!(adapter = %core.name, resource = %rt, id = %id, error = %e, "HL7 v2 message NOT queued: re-send this write");
    Err(e)
}

fn destination(core: &Core) -> String {
    core.config
        .send
        .as_ref()
        .map(|s| format!("{}:{}", s.host, s.port))
        .unwrap_or_default()
}

/// `(id, versionId)` from a `Location` such as `http://h/fhir/Appointment/1/_history/2`.
fn parse_location(location: &str, rt: &str) -> Option<(String, Option<String>)> {
    let at = location.rfind(&format!("{rt}/"))?;
    let rest = &location[at + rt.len() + 1..];
    let (id, version) = match rest.split_once("/_history/") {
        Some((id, v)) => (id, Some(v.to_owned())),
        None => (rest, None),
    };
    crate::interaction::is_valid_id(id).then(|| (id.to_owned(), version))
}

/// The Patient, Practitioners and Locations `resource` references, read from the store.
async fn related(core: &Core, resource: &Value, base: &str) -> Result<Vec<Value>, AdapterError> {
    let participants = resource["participant"].as_array().into_iter().flatten();
    let locations = resource["location"].as_array().into_iter().flatten();
    let refs: Vec<&str> = std::iter::once(&resource["subject"])
        .chain(participants.flat_map(|p| [&p["actor"], &p["individual"]]))
        .chain(locations.map(|l| &l["location"]))
        .filter_map(|v| v["reference"].as_str())
        .collect();
    let mut keys: Vec<(String, String)> = refs
        .into_iter()
        .filter_map(|r| local_target(r, base))
        .collect();
    keys.sort();
    keys.dedup();
    let reads = keys.iter().map(|(rt, id)| core.fhir.read(rt, id, base));
    let mut out = Vec::new();
    for r in futures::future::join_all(reads).await {
        if let Some(v) = r? {
            out.push(v);
        }
    }
    Ok(out)
}

#[async_trait::async_trait]
impl Deliver for Core {
    /// One MLLP exchange; MSA-1 AA/CA → delivered, AE/CE → failed (never retried), AR/CR,
    /// an ACK for another control id, an unreadable answer, connect or timeout → retried.
    async fn deliver(&self, message: &Message) -> Delivery {
        let Some(send) = &self.config.send else {
            return Delivery::Retry {
                reason: "no send: destination configured".into(),
            };
        };
        let answer = exchange(
            &send.host,
            send.port,
            Duration::from_millis(send.connect_timeout_ms),
            Duration::from_millis(send.ack_timeout_ms),
            message.payload.as_bytes(),
        )
        .await;
        let bytes = match answer {
            Ok(b) => b,
            Err(e @ (SendError::Connect(_) | SendError::Exchange(_))) => {
                return Delivery::Retry {
                    reason: e.to_string(),
                };
            }
        };
        let ack = fhirgate_mappings::hl7v2::parse(&bytes)
            .and_then(|m| fhirgate_mappings::hl7v2::parse_ack(&m));
        let ack = match ack {
            Ok(a) => a,
            Err(_) => {
                return Delivery::Retry {
                    reason: "the answer is not a readable ACK".into(),
                };
            }
        };
        if ack.control_id != message.message_id {
            return Delivery::Retry {
                reason: "the ACK's MSA-2 names another control id".into(),
            };
        }
        let result = String::from_utf8_lossy(&bytes).into_owned();
        match ack.code {
            AckCode::AA | AckCode::CA => {
                tracing::info!(adapter = %self.name, control_id = %message.message_id, kind = %message.kind, ack = ack.code.as_str(), "HL7 v2 message delivered");
                Delivery::Delivered { result }
            }
            AckCode::AE | AckCode::CE => Delivery::Failed {
                reason: format!("ACK {}", ack.code.as_str()),
                result,
            },
            AckCode::AR | AckCode::CR => Delivery::Retry {
                reason: format!("ACK {}", ack.code.as_str()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_gives_id_and_version() {
        assert_eq!(
            parse_location("http://h/fhir/Appointment/a-1/_history/3", "Appointment"),
            Some(("a-1".into(), Some("3".into())))
        );
        assert_eq!(
            parse_location("Encounter/e1", "Encounter"),
            Some(("e1".into(), None))
        );
        assert_eq!(parse_location("http://h/fhir/Patient/1", "Encounter"), None);
    }

    #[test]
    fn updates_are_modifications_unless_the_status_says_otherwise() {
        let a = serde_json::json!({"resourceType": "Appointment", "status": "booked"});
        assert_eq!(event(&a, true), None);
        assert_eq!(event(&a, false).as_deref(), Some("S14"));
        let c = serde_json::json!({"resourceType": "Appointment", "status": "cancelled"});
        assert_eq!(event(&c, false), None);
        let e = serde_json::json!({"resourceType": "Encounter", "status": "in-progress"});
        assert_eq!(event(&e, false).as_deref(), Some("A08"));
        let f = serde_json::json!({"resourceType": "Encounter", "status": "finished"});
        assert_eq!(event(&f, false), None);
    }
}
