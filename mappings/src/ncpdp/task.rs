//! Responses → delivery Task status.

use serde_json::Value;

use super::model::{Message, Response};

/// A Task update.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskUpdate {
    /// `Task.status`.
    pub status: &'static str,
    /// `Task.businessStatus`.
    pub business_status: Value,
}

/// Task update for a response message.
pub fn task_update(m: &Message) -> Option<TaskUpdate> {
    let _ = m;
    None
}

/// Prescriber decision from a Task.
pub fn decision_from_task(task: &Value) -> Option<Response> {
    let _ = task;
    None
}

/// Whether an Error code is transient.
pub fn error_is_transient(code: &str) -> bool {
    code == "600"
}
