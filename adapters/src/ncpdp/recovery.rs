//! Finishing accepted messages: the store writes of phase 2 (MedicationRequest and its
//! Task, in one transaction) and the hand-over to delivery, for a request in progress and,
//! after a crash, for every message left `pending-store` (at startup, and every minute for
//! messages older than a minute).

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use super::context::Context;
use super::state::Core;
use crate::outbox::Message;
use crate::outcome::json_response;
use crate::{AdapterError, FhirResponse, ResponseBody};

/// How old a `pending-store` message must be before the periodic pass finishes it (a
/// younger one may be a request still in progress).
pub(crate) const PERIODIC_MIN_AGE: Duration = Duration::from_secs(60);

fn corrupt(core: &Core, row: &Message) -> AdapterError {
    AdapterError::BadGateway {
        adapter: core.name.clone(),
        detail: format!("outbox message {} has an unreadable context", row.seq),
    }
}

/// The transaction Bundle writing the MedicationRequest (with the client's `If-Match`)
/// and its Task in one store transaction (one commit).
fn transaction(ctx: &Context, if_match: Option<&str>) -> Value {
    let put = |r: &Value| {
        let rt = r["resourceType"].as_str().unwrap_or_default();
        let id = r["id"].as_str().unwrap_or_default();
        json!({"method": "PUT", "url": format!("{rt}/{id}")})
    };
    let mut mr_request = put(&ctx.medication_request);
    if let Some(m) = if_match {
        mr_request["ifMatch"] = Value::String(m.to_owned());
    }
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": ctx.medication_request, "request": mr_request},
            {"resource": ctx.task, "request": put(&ctx.task)},
        ],
    })
}

/// Phase 2 for a client's request: writes the MedicationRequest and its Task in one store
/// transaction, hands the message to the dispatcher (delivered at once; it becomes `ready`
/// only if that attempt fails) and answers the stored MedicationRequest with the write's
/// status and `Location`. If the store refuses or fails the transaction, the message is
/// abandoned (nothing was stored; the client gets the refusal).
pub(crate) async fn finish(
    core: &Core,
    row: &Message,
    base: &str,
    client_headers: &HeaderMap,
) -> Result<FhirResponse, AdapterError> {
    let ctx = Context::parse(&row.context).ok_or_else(|| corrupt(core, row))?;
    let if_match = client_headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok());
    let bundle = transaction(&ctx, if_match);
    let mut prefer = HeaderMap::new();
    prefer.insert("prefer", HeaderValue::from_static("return=representation"));
    let written = core
        .fhir
        .call(Method::POST, "", Vec::new(), Some(&bundle), prefer, base)
        .await;
    let reply = match written {
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
    core.publish(&ctx.task);
    match core.dispatcher.get() {
        Some(d) => d.deliver_now(row.clone()),
        None => core.outbox.mark_ready(row.seq).await?,
    }
    let written = &reply.json["entry"][0]["response"];
    let status = written["status"]
        .as_str()
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut answer = match reply.json["entry"][0]["resource"] {
        ref stored @ Value::Object(_) => {
            let mut a = json_response(status, stored);
            let mut put = |name: header::HeaderName, value: Option<String>| {
                if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    a.headers.insert(name, v);
                }
            };
            put(header::ETAG, written["etag"].as_str().map(str::to_owned));
            put(
                header::LAST_MODIFIED,
                written["lastModified"].as_str().and_then(http_date),
            );
            a
        }
        _ => {
            let path = format!("MedicationRequest/{}", ctx.medication_request_id());
            let mut a = core
                .fhir
                .call(Method::GET, &path, Vec::new(), None, HeaderMap::new(), base)
                .await?
                .response;
            a.status = status;
            a
        }
    };
    if let Some(loc) = written["location"].as_str() {
        let absolute = if loc.contains("://") {
            loc.to_owned()
        } else {
            format!("{base}/{}", loc.trim_start_matches('/'))
        };
        if let Ok(v) = HeaderValue::from_str(&absolute) {
            answer.headers.insert(header::LOCATION, v);
        }
    }
    let minimal = client_headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.contains("return=minimal"));
    if minimal {
        answer.body = ResponseBody::Full(bytes::Bytes::new());
        answer.headers.remove(header::CONTENT_TYPE);
    }
    Ok(answer)
}

/// A FHIR instant as an HTTP-date (RFC 9110 §5.6.7 IMF-fixdate), for `Last-Modified`.
fn http_date(instant: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(instant, &Rfc3339).ok()?;
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&format).ok()
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

#[cfg(test)]
mod tests {
    #[test]
    fn last_modified_is_an_imf_fixdate() {
        assert_eq!(
            super::http_date("2026-11-29T22:07:37.888589Z").as_deref(),
            Some("Sun, 29 Nov 2026 22:07:37 GMT")
        );
        assert_eq!(
            super::http_date("2026-01-05T01:02:03+02:00").as_deref(),
            Some("Sun, 04 Jan 2026 23:02:03 GMT")
        );
        assert_eq!(super::http_date("yesterday"), None);
    }
}
