//! Updates of the Tasks that show a message's fate (FHIR R4 Task `status` and
//! `businessStatus`), safe against concurrent updates (If-Match on `meta.versionId`) and
//! against answers arriving out of order (a Task never moves back, e.g. from `completed`
//! to `received` when the RxFill overtakes the delivery's Status).

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

use super::state::{Core, now_rfc3339};
use crate::AdapterError;

/// Progress order of task-status codes (FHIR R4 §12.1 Task state machine); terminal
/// states rank highest.
fn rank(status: &str) -> u8 {
    match status {
        "draft" | "requested" => 0,
        "received" => 1,
        "accepted" => 2,
        "ready" | "in-progress" | "on-hold" => 3,
        _ => 4, // completed, failed, cancelled, rejected, entered-in-error
    }
}

/// Whether a Task in `current` may move to `next`: forward only, and a terminal state
/// is final.
fn moves(current: &str, next: &str) -> bool {
    let (c, n) = (rank(current), rank(next));
    n > c || (n == c && c < 4)
}

/// Sets Task `id` to `status` with `business_status` (a CodeableConcept) and, when given,
/// `statusReason` text. Returns whether the Task changed (`false`: it is already there or
/// further along).
///
/// Errors: the Task does not exist, or the store failed / kept conflicting.
pub(crate) async fn update(
    core: &Core,
    id: &str,
    status: &str,
    business_status: Option<Value>,
    status_reason: Option<&str>,
) -> Result<bool, AdapterError> {
    let base = core.internal_base();
    for _ in 0..5 {
        let Some(mut task) = core.fhir.read("Task", id, &base).await? else {
            return Err(AdapterError::Unavailable {
                adapter: core.name.clone(),
                detail: format!("Task {id} not found"),
            });
        };
        let current = task["status"].as_str().unwrap_or("requested").to_owned();
        if !moves(&current, status) {
            return Ok(false);
        }
        if current == status
            && business_status
                .as_ref()
                .is_none_or(|b| task["businessStatus"] == *b)
        {
            return Ok(false);
        }
        task["status"] = Value::String(status.to_owned());
        if let Some(b) = &business_status {
            task["businessStatus"] = b.clone();
        }
        if let Some(r) = status_reason {
            task["statusReason"] = serde_json::json!({"text": r});
        }
        task["lastModified"] = Value::String(now_rfc3339());
        let mut headers = HeaderMap::new();
        if let Some(v) = task["meta"]["versionId"].as_str()
            && let Ok(value) = HeaderValue::from_str(&format!("W/\"{v}\""))
        {
            headers.insert(header::IF_MATCH, value);
        }
        let reply = core.fhir.put(&task, headers, &base).await?;
        match reply.response.status {
            s if s.is_success() => {
                core.publish(&task);
                return Ok(true);
            }
            StatusCode::PRECONDITION_FAILED | StatusCode::CONFLICT => continue,
            s => {
                return Err(AdapterError::BadGateway {
                    adapter: core.name.clone(),
                    detail: format!("store answered {} to a Task update", s.as_u16()),
                });
            }
        }
    }
    Err(AdapterError::Unavailable {
        adapter: core.name.clone(),
        detail: format!("Task {id} kept changing under concurrent updates"),
    })
}

#[cfg(test)]
mod tests {
    use super::moves;

    #[test]
    fn tasks_only_move_forward_and_terminal_states_are_final() {
        assert!(moves("requested", "received"));
        assert!(moves("received", "completed"));
        assert!(moves("in-progress", "in-progress"));
        assert!(!moves("completed", "received"));
        assert!(!moves("failed", "completed"));
        assert!(!moves("accepted", "received"));
    }
}
