//! Finishing accepted messages: the store writes of phase 2 (MedicationRequest, then its
//! Task) and the move to `ready`, for a request in progress and, after a crash, for every
//! message left `pending-store` (at startup, and every minute for messages older than
//! a minute).

use std::time::Duration;

use http::HeaderMap;

use super::context::Context;
use super::prescribe::client_write_headers;
use super::state::Core;
use crate::outbox::Message;
use crate::{AdapterError, FhirResponse};

/// How old a `pending-store` message must be before the periodic pass finishes it (a
/// younger one may be a request still in progress).
pub(crate) const PERIODIC_MIN_AGE: Duration = Duration::from_secs(60);

fn corrupt(core: &Core, row: &Message) -> AdapterError {
    AdapterError::BadGateway {
        adapter: core.name.clone(),
        detail: format!("outbox message {} has an unreadable context", row.seq),
    }
}

/// Phase 2 for a client's request: writes the MedicationRequest (with the client's
/// `Prefer`/`If-Match`) and the Task, marks the message `ready` and answers the store's
/// answer to the MedicationRequest write. If the store refuses or fails that write, the
/// message is abandoned (nothing was stored, the client gets the refusal); if only the Task
/// write fails, the message stays `pending-store` for recovery and the client gets 503.
pub(crate) async fn finish(
    core: &Core,
    row: &Message,
    base: &str,
    client_headers: &HeaderMap,
) -> Result<FhirResponse, AdapterError> {
    let ctx = Context::parse(&row.context).ok_or_else(|| corrupt(core, row))?;
    let reply = match core
        .fhir
        .put(
            &ctx.medication_request,
            client_write_headers(client_headers),
            base,
        )
        .await
    {
        Ok(r) if r.response.status.is_success() => r,
        Ok(r) => {
            core.outbox.abandon(row.seq).await?;
            return Ok(r.response);
        }
        Err(e) => {
            let _ = core.outbox.abandon(row.seq).await;
            return Err(e);
        }
    };
    core.publish(&ctx.medication_request);
    if let Err(e) = core.fhir.put_ok(&ctx.task, base).await {
        tracing::warn!(adapter = %core.name, seq = row.seq, error = %e, "Task not written; the message stays pending-store for recovery");
        return Err(AdapterError::Unavailable {
            adapter: core.name.clone(),
            detail: "the MedicationRequest is stored but its Task could not be written; \
                     the message will be sent once recovery completes it"
                .into(),
        });
    }
    core.publish(&ctx.task);
    core.outbox.mark_ready(row.seq).await?;
    Ok(reply.response)
}

/// Finishes every `pending-store` message at least `min_age` old: writes what the store
/// lacks (the MedicationRequest as accepted, unless already stored in that state; the Task
/// unless present), then marks it `ready`. Returns how many were finished.
///
/// Errors: the outbox or the store failed (the rest is retried on the next pass).
pub(crate) async fn recover(core: &Core, min_age: Duration) -> Result<usize, AdapterError> {
    let base = core.internal_base();
    let now = crate::outbox::now_ms();
    let mut done = 0;
    for row in core.outbox.pending_store().await? {
        let age = u64::try_from(now.saturating_sub(row.created_at_ms)).unwrap_or(0);
        if Duration::from_millis(age) < min_age {
            continue;
        }
        let Some(ctx) = Context::parse(&row.context) else {
            tracing::error!(adapter = %core.name, seq = row.seq, "outbox message with unreadable context skipped");
            continue;
        };
        let stored = core
            .fhir
            .read("MedicationRequest", ctx.medication_request_id(), &base)
            .await?;
        let wanted_status = &ctx.medication_request["status"];
        if stored
            .as_ref()
            .is_none_or(|s| s["status"] != *wanted_status)
        {
            let reply = core
                .fhir
                .put(&ctx.medication_request, HeaderMap::new(), &base)
                .await?;
            if !reply.response.status.is_success() {
                tracing::warn!(adapter = %core.name, seq = row.seq, status = reply.response.status.as_u16(), "store refuses the accepted MedicationRequest; message abandoned");
                core.outbox.abandon(row.seq).await?;
                continue;
            }
            core.publish(&ctx.medication_request);
        }
        if core
            .fhir
            .read("Task", ctx.task_id(), &base)
            .await?
            .is_none()
        {
            core.fhir.put_ok(&ctx.task, &base).await?;
            core.publish(&ctx.task);
        }
        core.outbox.mark_ready(row.seq).await?;
        tracing::info!(adapter = %core.name, seq = row.seq, kind = %row.kind, message_id = %row.message_id, "accepted message recovered");
        done += 1;
    }
    Ok(done)
}
