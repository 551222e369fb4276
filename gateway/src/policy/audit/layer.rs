//! The audit middleware. It reserves a queue slot before the request runs (a full queue
//! answers 503 before any work is done), lets the request run, builds the AuditEvent from
//! the answer (denied 401/403 answers included) and releases the response only after the
//! writer has stored the record: nothing is served unaudited. When the record cannot be
//! written in `audit.write_timeout_ms` the client gets 503 instead of the answer (a write
//! that already reached the adapter stays applied; its absence of an audit record is
//! logged and counted). `audit.fail_open: true` serves instead, logging and counting it.
//! `audit.release: queued` releases the response once its record is queued.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhirgate_adapters::Interaction;
use fhirgate_adapters::interaction::{Principal, parse_target};
use tokio::sync::oneshot;

use super::event::{self, RequestInfo};
use super::{AuditTrail, Job, search};
use crate::error::GatewayError;
use crate::observe::RequestId;
use crate::policy::principal::Caller;
use crate::state::AppState;

/// Paths under `/fhir` that never touch patient data (no record is written).
fn is_public(path: &str) -> bool {
    matches!(path, "metadata" | ".well-known/smart-configuration")
}

/// What to record about `request`, or `None` when it is not a FHIR request touching
/// patient data.
pub fn classify<B>(request: &Request<B>) -> Option<RequestInfo> {
    let path = request.uri().path();
    if path.starts_with("/ncpdp/") {
        // Pharmacy messages carry prescriptions: audited as an operation (`action` E).
        return Some(RequestInfo {
            request_id: request
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            ..RequestInfo::default()
        });
    }
    let path = path.strip_prefix("/fhir")?;
    if !(path.is_empty() || path.starts_with('/')) {
        return None;
    }
    let path = path.trim_matches('/');
    if is_public(path) {
        return None;
    }
    let target = parse_target(request.method(), path).ok();
    let query = request.uri().query().map(str::to_owned);
    let mut info = RequestInfo {
        interaction: target.as_ref().map(|t| t.interaction),
        resource_type: target.as_ref().and_then(|t| t.resource_type.clone()),
        id: target.as_ref().and_then(|t| t.id.clone()),
        query: query.clone(),
        patients: Vec::new(),
        request_id: request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
    };
    if info.resource_type.as_deref() == Some("Patient")
        && let Some(id) = &info.id
    {
        info.patients.push(id.clone());
    }
    for (name, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        let base = name.split(':').next().unwrap_or("");
        let patient_param = matches!(base, "patient" | "subject" | "beneficiary")
            || (base == "_id" && info.resource_type.as_deref() == Some("Patient"));
        if !patient_param {
            continue;
        }
        for v in value.split(',') {
            let id = v.rsplit_once("Patient/").map_or(v, |(_, id)| id);
            let bare = base != "subject" || v.contains("Patient/");
            if bare && !id.is_empty() && !info.patients.iter().any(|p| p == id) {
                info.patients.push(id.to_owned());
            }
        }
    }
    Some(info)
}

/// 503 with an OperationOutcome (`transient`) and `Retry-After: 1`.
fn unavailable() -> Response {
    GatewayError::AuditUnavailable.into_response()
}

fn failure(trail: &AuditTrail, reason: &'static str) -> bool {
    metrics::counter!("fhirgate_audit_failures_total", "reason" => reason).increment(1);
    if trail.fail_open {
        tracing::warn!(
            reason,
            "audit record not written; serving anyway (audit.fail_open)"
        );
    } else {
        tracing::error!(reason, "audit record not written; answering 503");
    }
    trail.fail_open
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn audit(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let Some(trail) = state.policy.audit.clone() else {
        return next.run(request).await;
    };
    let Some(info) = classify(&request) else {
        return next.run(request).await;
    };
    let mut caller = Caller::of(&request);
    let reserved = match trail.queue.clone().try_reserve_owned() {
        Ok(p) => Ok(p),
        // `release: queued` answers without waiting for the disk, so a burst or a slow
        // flush fills the queue; the request then waits for a slot (within the write
        // timeout) instead of being refused: back-pressure rather than 503s.
        Err(_) if trail.release_queued => {
            tokio::time::timeout(trail.write_timeout, trail.queue.clone().reserve_owned())
                .await
                .map_err(|_| ())
                .and_then(|r| r.map_err(|_| ()))
        }
        Err(_) => Err(()),
    };
    let permit = match reserved {
        Ok(p) => Some(p),
        Err(()) if failure(&trail, "queue_full") => None,
        Err(()) => return unavailable(),
    };
    // AuditEvent is the trail's own: searched and read there, never written through the
    // REST API (a record in the store would pass for one of the trail's).
    let audit_rest =
        info.resource_type.as_deref() == Some("AuditEvent") && caller.principal.is_some();
    let response = if audit_rest {
        let (parts, _) = request.into_parts();
        match (info.interaction, parts.method == axum::http::Method::GET) {
            (Some(Interaction::SearchType), true) => {
                search::answer(&state, &trail, &caller, &parts.uri, &parts.headers).await
            }
            (Some(Interaction::Read), true) => {
                let id = info.id.as_deref().unwrap_or_default();
                search::read(&trail, &caller, id).await
            }
            _ => search::read_only(),
        }
    } else {
        next.run(request).await
    };
    if caller.principal.is_none() {
        caller.principal = response.extensions().get::<Principal>().cloned();
    }
    let Some(permit) = permit else {
        return response;
    };
    let index = event::index(&info, &caller);
    let event = event::build(
        &info,
        &caller,
        response.status().as_u16(),
        &trail.instance,
        &index,
    );
    let Ok(record) = serde_json::to_vec(&event) else {
        return if failure(&trail, "encode") {
            response
        } else {
            unavailable()
        };
    };
    let (ack, written) = oneshot::channel();
    permit.send(Job { record, index, ack });
    if trail.release_queued {
        // `audit.release: queued`: the slot was reserved, the record is queued; the writer
        // stores it with the next batch and a failure is logged and counted there.
        return response;
    }
    match tokio::time::timeout(trail.write_timeout, written).await {
        Ok(Ok(true)) => response,
        Ok(_) => {
            if failure(&trail, "sink") {
                response
            } else {
                unavailable()
            }
        }
        Err(_) => {
            if failure(&trail, "timeout") {
                response
            } else {
                unavailable()
            }
        }
    }
}
