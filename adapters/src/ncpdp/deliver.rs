//! Delivery of outbox messages to pharmacies: HTTP POST of the SCRIPT XML
//! (`application/xml`, HTTP Basic), the answer (SCRIPT Status, Verify or Error) mapped onto
//! the message's Task before the outcome is recorded. Transient failures — connection
//! errors, timeouts, HTTP 5xx, SCRIPT Error 600 — are retried; other Errors are final.

use std::time::Duration;

use fhirgate_mappings::ncpdp::{Body, error_is_transient, parse_message, task_update};
use http::header;

use super::context::{CANCEL_RX, Context, NEW_RX, dedupe_key};
use super::state::Core;
use super::task;
use crate::AdapterError;
use crate::outbox::{Deliver, Delivery, Message, MessageState};

fn retry(reason: impl Into<String>) -> Delivery {
    Delivery::Retry {
        reason: reason.into(),
    }
}

impl Core {
    /// A CancelRx waits until its NewRx is delivered (retries are scheduled per message,
    /// so it could otherwise overtake it); `Some(outcome)` when it must not be sent now.
    async fn cancel_gate(&self, ctx: &Context) -> Option<Delivery> {
        let key = dedupe_key(NEW_RX, ctx.medication_request_id());
        match self.outbox.get(&key).await {
            Ok(Some(n)) if n.state == MessageState::Delivered => None,
            Ok(Some(n)) if n.state == MessageState::Failed => Some(Delivery::Failed {
                reason: "the NewRx was never accepted by the pharmacy; nothing to cancel".into(),
                result: String::new(),
            }),
            Ok(_) => Some(retry("waiting for the NewRx to be delivered first")),
            Err(e) => Some(retry(e.to_string())),
        }
    }

    async fn post(&self, m: &Message) -> Result<(u16, Vec<u8>), Delivery> {
        let Some(pharmacy) = self.pharmacies.get(&m.destination) else {
            return Err(Delivery::Failed {
                reason: format!("pharmacy {} is no longer configured", m.destination),
                result: String::new(),
            });
        };
        let Some(url) = self.endpoint_url(pharmacy) else {
            return Err(retry("the gateway's own URL is not known yet"));
        };
        let mut request = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/xml")
            .timeout(Duration::from_secs_f64(self.config.timeout_seconds))
            .body(m.payload.clone());
        if let Some(secret) = &pharmacy.outbound {
            request = request.header(header::AUTHORIZATION, secret.basic(&self.config.sender_id));
        }
        let response = request.send().await.map_err(|e| {
            retry(if e.is_timeout() {
                "timed out".to_owned()
            } else {
                format!("unreachable: {}", e.without_url())
            })
        })?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| retry(format!("answer unreadable: {}", e.without_url())))?;
        Ok((status, body.to_vec()))
    }

    /// Interprets the pharmacy's answer and updates the Task(s).
    async fn settle(&self, m: &Message, ctx: &Context, status: u16, body: &[u8]) -> Delivery {
        if status >= 500 {
            return retry(format!("HTTP {status}"));
        }
        let answer = String::from_utf8_lossy(body).into_owned();
        let Ok(parsed) = parse_message(body) else {
            return if status >= 400 {
                Delivery::Failed {
                    reason: format!("HTTP {status} without a SCRIPT answer"),
                    result: String::new(),
                }
            } else {
                retry(format!("HTTP {status}: the answer is not a SCRIPT message"))
            };
        };
        if parsed.header.relates_to_message_id.as_deref() != Some(m.message_id.as_str()) {
            tracing::warn!(adapter = %self.name, message_id = %m.message_id, "answer's RelatesToMessageID does not name the message sent");
        }
        let Some(update) = task_update(&parsed) else {
            return retry(format!("unexpected answer {}", parsed.body.name()));
        };
        let (final_error, reason) = match &parsed.body {
            Body::Error(e) if error_is_transient(&e.code) => {
                return retry(format!("SCRIPT Error {}", e.code));
            }
            Body::Error(e) => (true, Some(format!("SCRIPT Error {}", e.code))),
            _ => (false, None),
        };
        let text = update.business_status["text"].as_str().map(str::to_owned);
        let written = task::update(
            self,
            ctx.task_id(),
            update.status,
            Some(update.business_status),
            text.as_deref().filter(|_| final_error),
        )
        .await;
        if let Err(e) = written {
            return retry(format!("Task not updated: {e}"));
        }
        match reason {
            Some(reason) => Delivery::Failed {
                reason,
                result: answer,
            },
            None => Delivery::Delivered { result: answer },
        }
    }
}

#[async_trait::async_trait]
impl Deliver for Core {
    async fn deliver(&self, m: &Message) -> Delivery {
        let Some(ctx) = Context::parse(&m.context) else {
            return Delivery::Failed {
                reason: "unreadable outbox context".into(),
                result: String::new(),
            };
        };
        if m.kind == CANCEL_RX
            && let Some(outcome) = self.cancel_gate(&ctx).await
        {
            if let Delivery::Failed { reason, .. } = &outcome {
                let _ = task::update(self, ctx.task_id(), "failed", None, Some(reason)).await;
            }
            return outcome;
        }
        match self.post(m).await {
            Ok((status, body)) => {
                let outcome = self.settle(m, &ctx, status, &body).await;
                let label = match &outcome {
                    Delivery::Delivered { .. } => "delivered",
                    Delivery::Retry { .. } => "retry",
                    Delivery::Failed { .. } => "failed",
                };
                tracing::info!(adapter = %self.name, kind = %m.kind, message_id = %m.message_id, attempt = m.attempts, http_status = status, outcome = label, "SCRIPT message sent");
                outcome
            }
            Err(outcome) => outcome,
        }
    }

    async fn give_up(&self, m: &Message, reason: &str) -> Result<(), AdapterError> {
        let Some(ctx) = Context::parse(&m.context) else {
            return Ok(());
        };
        let text = format!("{} not delivered: {reason}", m.kind);
        let business = serde_json::json!({"text": text});
        task::update(self, ctx.task_id(), "failed", Some(business), Some(&text)).await?;
        Ok(())
    }
}
