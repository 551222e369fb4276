//! The dispatcher: a background task that claims due messages (leased), hands each to the
//! adapter's [`Deliver`] with bounded concurrency, and records the outcome — delivered,
//! failed, or retried later with exponential backoff and full jitter. Woken at once when a
//! message is enqueued, so the happy path waits for no poll interval.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::db::now_ms;
use super::{Backoff, Message, Outbox};
use crate::AdapterError;

/// How often the dispatcher looks for due messages when nothing woke it: messages enqueued
/// by other replicas sharing a PostgreSQL outbox, expired leases.
const POLL: Duration = Duration::from_secs(1);

/// Most messages claimed in one query.
const CLAIM_BATCH: usize = 64;

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver accepted the message; `result` is its answer (kept in the outbox).
    Delivered {
        /// The receiver's answer.
        result: String,
    },
    /// A transient failure (unreachable, timeout, 5xx): try again after a backoff delay.
    Retry {
        /// What failed, without PHI.
        reason: String,
    },
    /// A permanent failure (the receiver refused the message): never retried.
    Failed {
        /// Why, without PHI.
        reason: String,
        /// The receiver's answer, if any.
        result: String,
    },
}

/// The adapter's side of delivery.
#[async_trait::async_trait]
pub trait Deliver: Send + Sync + 'static {
    /// Sends `message` once and applies the adapter's own consequences of the outcome (e.g.
    /// updates a FHIR Task) before returning it: the outbox records the outcome only after
    /// this returns, so a crash in between redelivers the message with the same message id
    /// (at least once). Return [`Delivery::Retry`] when those consequences could not be
    /// written.
    async fn deliver(&self, message: &Message) -> Delivery;

    /// Called when retries are exhausted (`retry.max_attempts` / `retry.max_age_seconds`),
    /// before the message is marked failed with `reason`. An `Err` keeps the message
    /// for another attempt later.
    async fn give_up(&self, message: &Message, reason: &str) -> Result<(), AdapterError> {
        let _ = (message, reason);
        Ok(())
    }
}

/// What the dispatcher's loop and direct deliveries share.
struct Inner {
    outbox: Arc<Outbox>,
    deliver: Arc<dyn Deliver>,
    backoff: Arc<Backoff>,
    slots: Arc<Semaphore>,
}

/// A running dispatcher; stops when dropped.
pub struct Dispatcher {
    task: tokio::task::AbortHandle,
    inner: Arc<Inner>,
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Dispatcher {
    /// Starts delivering `outbox`'s messages through `deliver`, at most `concurrency` at a
    /// time, each claimed for `lease` (longer than one attempt can take).
    pub fn spawn(
        outbox: Arc<Outbox>,
        deliver: Arc<dyn Deliver>,
        backoff: Backoff,
        concurrency: u32,
        lease: Duration,
    ) -> Self {
        let inner = Arc::new(Inner {
            outbox,
            deliver,
            backoff: Arc::new(backoff),
            slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)),
        });
        let task = tokio::spawn(run(
            inner.outbox.clone(),
            inner.deliver.clone(),
            inner.backoff.clone(),
            inner.slots.clone(),
            lease,
        ));
        Self {
            task: task.abort_handle(),
            inner,
        }
    }

    /// Delivers `message` at once from this process, without moving it to `ready` and
    /// claiming it first (two fewer commits on the happy path). For a message still
    /// `pending-store` whose adapter writes are done: it stays `pending-store` until the
    /// outcome is recorded, so a crash before that leaves it to the adapter's recovery
    /// (which redelivers it with the same message id); a transient failure makes it an
    /// ordinary `ready` message retried with backoff.
    pub fn deliver_now(&self, mut message: Message) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let Ok(permit) = inner.slots.clone().acquire_owned().await else {
                return;
            };
            message.attempts = message.attempts.saturating_add(1);
            attempt(
                &inner.outbox,
                inner.deliver.as_ref(),
                &inner.backoff,
                message,
            )
            .await;
            drop(permit);
            inner.outbox.wake();
        });
    }
}

async fn run(
    outbox: Arc<Outbox>,
    deliver: Arc<dyn Deliver>,
    backoff: Arc<Backoff>,
    slots: Arc<Semaphore>,
    lease: Duration,
) {
    let wake = outbox.waker();
    loop {
        let free = slots.available_permits();
        if free == 0 {
            // A finishing delivery frees a slot and wakes us.
            wake.notified().await;
            continue;
        }
        let claimed = match outbox.claim(free.min(CLAIM_BATCH) as u32, lease).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(adapter = %outbox.adapter(), error = %e, "outbox claim failed");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        let got = claimed.len();
        for message in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (outbox, deliver, backoff) = (outbox.clone(), deliver.clone(), backoff.clone());
            tokio::spawn(async move {
                attempt(&outbox, deliver.as_ref(), &backoff, message).await;
                drop(permit);
                outbox.wake();
            });
        }
        if got > 0 {
            continue;
        }
        let wait = match outbox.next_due_ms().await {
            Ok(Some(due)) => {
                let ms = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
                // Due already but not claimable (a race with another claimer): brief pause.
                Duration::from_millis(ms.max(5)).min(POLL)
            }
            Ok(None) => POLL,
            Err(_) => POLL,
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Counts one delivery attempt's outcome in `fhirgate_outbox_deliveries_total`, labelled by
/// adapter, message kind (`NewRx`, `CancelRx`, `ADT^A04`…) and `outcome`: `delivered`,
/// `refused` (a permanent failure), `retry` (transient, tried again later) or `gave_up`
/// (retries exhausted).
fn count(outbox: &Outbox, message: &Message, outcome: &'static str) {
    metrics::counter!(
        "fhirgate_outbox_deliveries_total",
        "adapter" => outbox.adapter().to_owned(),
        "kind" => message.kind.clone(),
        "outcome" => outcome,
    )
    .increment(1);
}

/// One delivery attempt and the record of its outcome. A failure to record leaves the
/// lease to expire, and the message is delivered again (same message id).
async fn attempt(outbox: &Outbox, deliver: &dyn Deliver, backoff: &Backoff, message: Message) {
    let seq = message.seq;
    let outcome = deliver.deliver(&message).await;
    let recorded = match &outcome {
        Delivery::Delivered { result } => {
            count(outbox, &message, "delivered");
            outbox.delivered(&message, result).await
        }
        Delivery::Failed { reason, result } => {
            count(outbox, &message, "refused");
            tracing::warn!(adapter = %outbox.adapter(), seq, kind = %message.kind, message_id = %message.message_id, reason = %reason, "message refused by receiver");
            outbox.failed(&message, reason, result).await
        }
        Delivery::Retry { reason } => {
            let age_ms = u64::try_from(now_ms().saturating_sub(message.created_at_ms)).unwrap_or(0);
            if backoff.exhausted(message.attempts, Duration::from_millis(age_ms)) {
                let why = format!("gave up after {} attempts: {reason}", message.attempts);
                match deliver.give_up(&message, &why).await {
                    Ok(()) => {
                        count(outbox, &message, "gave_up");
                        tracing::warn!(adapter = %outbox.adapter(), seq, kind = %message.kind, message_id = %message.message_id, "delivery retries exhausted");
                        outbox.failed(&message, &why, "").await
                    }
                    Err(e) => {
                        outbox
                            .retry_after(&message, backoff.delay(message.attempts), &e.to_string())
                            .await
                    }
                }
            } else {
                count(outbox, &message, "retry");
                let delay = backoff.delay(message.attempts);
                tracing::info!(adapter = %outbox.adapter(), seq, kind = %message.kind, attempts = message.attempts, delay_ms = delay.as_millis() as u64, reason = %reason, "delivery failed; retrying");
                outbox.retry_after(&message, delay, reason).await
            }
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(adapter = %outbox.adapter(), seq, error = %e, "outbox outcome not recorded; the message will be delivered again");
    }
}
