//! What the sandbox pharmacy sends back after answering: RxFill (Dispensed) for a NewRx,
//! CancelRxResponse for a CancelRx (Approved while the fill is still owed, Denied once
//! dispensed). Sent after `delay_seconds` to the gateway's `/ncpdp/script` with HTTP Basic
//! (user = the pharmacy's NCPDP ID), retried until the gateway answers; each follow-up's
//! MessageID derives from the message it answers, so a resend is recognisable.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fhirgate_mappings::ncpdp::{
    Body, FillStatus, Header, Message, Response, RxTransaction, parse_message, rx_fill,
    write_message,
};
use http::header;

use super::service::Sandbox;
use crate::ncpdp::{derived_id, now_rfc3339};

/// Longest wait between two send attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Give up on a follow-up after this long.
const GIVE_UP: Duration = Duration::from_secs(3600);

/// Sends the follow-up of processed message `id` after the configured delay.
pub(crate) fn spawn(s: Arc<Sandbox>, id: String) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs_f64(s.config.delay_seconds)).await;
        send(&s, &id).await;
    });
}

/// The follow-up message for `m`, or `None` when nothing is owed any more.
async fn build(s: &Sandbox, m: &Message) -> Option<String> {
    let mut h = Header::reply_to(m, derived_id("f", &[&m.header.message_id]), now_rfc3339());
    h.from_id = s.config.ncpdp_id.clone();
    match &m.body {
        Body::NewRx(_) => rx_fill(m, &h, &FillStatus::Dispensed { note: None }).ok(),
        Body::CancelRx(t) => {
            // Decided on receipt: approved when the NewRx's fill was still owed (it is then
            // never sent).
            let approved = s
                .ledger
                .get(&m.header.message_id)
                .await
                .and_then(|e| e.approved)
                .unwrap_or(false);
            let response = if approved {
                Response::Approved { note: None }
            } else {
                Response::Denied {
                    reason_code: None,
                    reason: Some("the prescription was already dispensed".into()),
                }
            };
            let out = RxTransaction {
                request_reference_number: t.request_reference_number.clone(),
                response: Some(response),
                patient: t.patient.clone(),
                pharmacy: t.pharmacy.clone(),
                prescriber: t.prescriber.clone(),
                medication_prescribed: t.medication_prescribed.clone(),
                ..RxTransaction::default()
            };
            Some(write_message(&h, &Body::CancelRxResponse(Box::new(out))))
        }
        _ => None,
    }
}

async fn send(s: &Sandbox, id: &str) {
    let Some(entry) = s.ledger.get(id).await.filter(|e| !e.done) else {
        return;
    };
    let Ok(m) = parse_message(entry.request.as_bytes()) else {
        let _ = s.ledger.done(&s.name, id).await;
        return;
    };
    let Some(xml) = build(s, &m).await else {
        let _ = s.ledger.done(&s.name, id).await;
        return;
    };
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(500);
    loop {
        // Cancelled meanwhile (a CancelRx was approved): the fill is not sent.
        if s.ledger.get(id).await.is_none_or(|e| e.done) {
            return;
        }
        let target = match &s.config.gateway_url {
            Some(u) => url::Url::parse(u).ok(),
            None => s.self_url.get().and_then(|u| u.join("/ncpdp/script").ok()),
        };
        if let Some(url) = target {
            let sent = s
                .http
                .post(url)
                .header(header::CONTENT_TYPE, "application/xml")
                .header(header::AUTHORIZATION, s.secret.basic(&s.config.ncpdp_id))
                .body(xml.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() || r.status().is_client_error() => {
                    if r.status().is_client_error() {
                        tracing::warn!(adapter = %s.name, message_id = %id, status = r.status().as_u16(), "gateway refused the sandbox pharmacy's follow-up");
                    } else {
                        s.stats.follow_ups_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Err(e) = s.ledger.done(&s.name, id).await {
                        tracing::warn!(adapter = %s.name, error = %e, "sandbox ledger write failed");
                    }
                    return;
                }
                Ok(r) => {
                    tracing::info!(adapter = %s.name, message_id = %id, status = r.status().as_u16(), "follow-up not accepted yet; retrying");
                }
                Err(e) => {
                    tracing::info!(adapter = %s.name, message_id = %id, error = %e.without_url(), "gateway unreachable; retrying");
                }
            }
        }
        if started.elapsed() > GIVE_UP {
            tracing::warn!(adapter = %s.name, message_id = %id, "follow-up given up");
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}
