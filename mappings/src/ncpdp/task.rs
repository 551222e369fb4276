//! Answers from the pharmacy → the status of the delivery Task (`code` fulfill, `focus` the
//! MedicationRequest), and the prescriber's decision on a renewal/change Task → SCRIPT
//! [`Response`].

use serde_json::{Value, json};

use super::codes::SCRIPT_RESPONSE;
use super::model::{Body, FillStatus, Message, Response};

/// A change to the delivery Task: `Task.status` and `Task.businessStatus`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskUpdate {
    /// `Task.status` (R4 task-status code).
    pub status: &'static str,
    /// `Task.businessStatus`: a CodeableConcept with one coding in
    /// `http://fhirgate.dev/CodeSystem/ncpdp-script-response` (code e.g. `status-010`,
    /// `error-900`, `verify-010`, `rxfill-dispensed`, `cancelrxresponse-approved`) and a text
    /// such as `Status 010: Transaction received and queued for processing.`
    pub business_status: Value,
}

fn update(status: &'static str, code: String, text: String) -> TaskUpdate {
    TaskUpdate {
        status,
        business_status: json!({
            "coding": [{"system": SCRIPT_RESPONSE, "code": code, "display": text}],
            "text": text,
        }),
    }
}

fn with_description(head: String, description: Option<&str>) -> String {
    match description {
        Some(d) => format!("{head}: {d}"),
        None => head,
    }
}

/// The delivery Task update for an answer from the pharmacy:
///
/// | message | `Task.status` |
/// |---|---|
/// | Status (any code, e.g. 010, 000) | `received` |
/// | Verify | `accepted` |
/// | Error (any code; see [`error_is_transient`] for retries) | `failed` |
/// | RxFill Dispensed / PartiallyDispensed | `completed` / `in-progress` |
/// | RxFill NotDispensed / Transferred | `failed` / `cancelled` |
/// | CancelRxResponse Approved | `cancelled` |
/// | CancelRxResponse Denied (the pharmacy keeps the prescription) | `in-progress` |
///
/// `None` for requests and for messages the prescriber side sends. A caller should not move
/// a `completed` Task back to an earlier status.
pub fn task_update(m: &Message) -> Option<TaskUpdate> {
    match &m.body {
        Body::Status(s) => Some(update(
            "received",
            format!("status-{}", s.code),
            with_description(format!("Status {}", s.code), s.description.as_deref()),
        )),
        Body::Verify(s) => Some(update(
            "accepted",
            format!("verify-{}", s.code),
            with_description(format!("Verify {}", s.code), s.description.as_deref()),
        )),
        Body::Error(s) => {
            let head = match &s.description_code {
                Some(dc) => format!("Error {} ({dc})", s.code),
                None => format!("Error {}", s.code),
            };
            Some(update(
                "failed",
                format!("error-{}", s.code),
                with_description(head, s.description.as_deref()),
            ))
        }
        Body::RxFill(t) => {
            let fill = t.fill_status.as_ref()?;
            let status = match fill {
                FillStatus::Dispensed { .. } => "completed",
                FillStatus::PartiallyDispensed { .. } => "in-progress",
                FillStatus::NotDispensed { .. } => "failed",
                FillStatus::Transferred { .. } => "cancelled",
            };
            let code = format!("rxfill-{}", fill.name().to_ascii_lowercase());
            Some(update(
                status,
                code,
                with_description(format!("RxFill {}", fill.name()), fill.note()),
            ))
        }
        Body::CancelRxResponse(t) => {
            let r = t.response.as_ref()?;
            let (status, detail) = match r {
                Response::Approved { note } | Response::ApprovedWithChanges { note } => {
                    ("cancelled", note.clone())
                }
                Response::Denied {
                    reason_code,
                    reason,
                } => (
                    "in-progress",
                    match (reason_code, reason) {
                        (Some(c), Some(r)) => Some(format!("{c} {r}")),
                        (c, r) => c.clone().or(r.clone()),
                    },
                ),
                Response::Replace { note } => ("cancelled", note.clone()),
            };
            let code = format!("cancelrxresponse-{}", r.name().to_ascii_lowercase());
            Some(update(
                status,
                code,
                with_description(format!("CancelRxResponse {}", r.name()), detail.as_deref()),
            ))
        }
        _ => None,
    }
}

/// The prescriber's decision recorded on the renewal/change Task (see
/// [`super::message_to_fhir`]): `status` `accepted`/`completed` → `Approved` (first
/// `note.text` as the `Note`), `rejected` → `Denied` (`statusReason` coding code as
/// `ReasonCode`, its text as `DenialReason`); `None` while undecided.
pub fn decision_from_task(task: &Value) -> Option<Response> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    match task["status"].as_str()? {
        "accepted" | "completed" => Some(Response::Approved {
            note: text(&task["note"][0]["text"]),
        }),
        "rejected" => Some(Response::Denied {
            reason_code: text(&task["statusReason"]["coding"][0]["code"]),
            reason: text(&task["statusReason"]["text"]),
        }),
        _ => None,
    }
}

/// Whether an Error `code` means "try again later": `600` (communication problem). Every
/// other code is final.
pub fn error_is_transient(code: &str) -> bool {
    code == "600"
}
