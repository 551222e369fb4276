//! [`BodyBudget`]: the process-wide budget of request-body bytes buffered at once
//! (`server.max_buffered_request_bytes`), kept as permits of one KiB in a fair (FIFO)
//! [`Semaphore`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bodies declared shorter than this many bytes reserve nothing: small creates and
/// updates, and every request without a body, never touch the semaphore.
pub const UNBUDGETED_BODY_BYTES: u64 = 8 * 1024;

/// How long a request waits for its reservation before it is refused with 503.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(2);

/// The `Retry-After` of a refused request, in seconds (RFC 9110 §10.2.3).
pub const RETRY_AFTER_SECONDS: u64 = 2;

/// Bytes per permit.
const PERMIT_BYTES: u64 = 1024;

/// The process-wide budget of buffered request bodies; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    /// Permits in all (KiB).
    capacity: u32,
    /// The configured budget in bytes, for the refusal's diagnostics.
    budget_bytes: u64,
    /// `server.body_limit` in bytes: the most one buffered read takes.
    body_limit: u64,
    wait: Duration,
}

/// Bytes of the budget a request holds until it is dropped (with its response).
#[derive(Debug)]
pub struct Reservation {
    permit: OwnedSemaphorePermit,
    budget: Arc<Semaphore>,
    capacity: u32,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // The permit is returned after this body runs; report what stays reserved.
        let held = self.capacity as usize - self.budget.available_permits();
        let after = held.saturating_sub(self.permit.num_permits());
        record_reserved(after);
    }
}

/// The budget had no room for the request within the wait: answer 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// The configured budget in bytes.
    pub budget_bytes: u64,
}

fn record_reserved(kib: usize) {
    metrics::gauge!("fhirgate_buffered_request_reserved_bytes")
        .set((kib as u64 * PERMIT_BYTES) as f64);
}

impl BodyBudget {
    /// A budget of `budget_bytes` (at most 4 TiB counts: u32 KiB permits) for bodies of at
    /// most `body_limit` bytes; a request waits up to `wait` for room.
    pub fn new(budget_bytes: u64, body_limit: u64, wait: Duration) -> Self {
        let capacity = budget_bytes
            .div_ceil(PERMIT_BYTES)
            .min(u64::from(u32::MAX))
            .min(Semaphore::MAX_PERMITS as u64)
            .max(1) as u32;
        Self {
            permits: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            budget_bytes,
            body_limit,
            wait,
        }
    }

    /// The bytes a body must reserve before it is read, from its exact length when known
    /// (`Content-Length`) and whether it has already ended (no body): its exact length; 0 for
    /// one under [`UNBUDGETED_BODY_BYTES`], and 0 for one over `body_limit` (every buffered
    /// reader refuses a declared length over the limit with 413 before reading, so it must
    /// not wait for room it will never use); `body_limit` for a body of unknown length
    /// (chunked), the most a reader may buffer before it stops with 413.
    pub fn claim(&self, exact: Option<u64>, ended: bool) -> u64 {
        if ended {
            return 0;
        }
        match exact {
            Some(len) if len < UNBUDGETED_BODY_BYTES || len > self.body_limit => 0,
            Some(len) => len,
            None => self.body_limit,
        }
    }

    /// Reserves `bytes` (rounded up to whole KiB), waiting up to the budget's wait for room
    /// in FIFO order. `Ok(None)` for 0 bytes (nothing to hold).
    ///
    /// Errors: [`Exhausted`] when there was no room within the wait.
    pub async fn admit(&self, bytes: u64) -> Result<Option<Reservation>, Exhausted> {
        if bytes == 0 {
            return Ok(None);
        }
        let kib = bytes.div_ceil(PERMIT_BYTES).min(u64::from(self.capacity)) as u32;
        let acquire = self.permits.clone().acquire_many_owned(kib);
        let exhausted = Exhausted {
            budget_bytes: self.budget_bytes,
        };
        let permit = match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => permit,
            // Timed out, or the semaphore was closed (it never is).
            _ => return Err(exhausted),
        };
        record_reserved(self.reserved_kib());
        Ok(Some(Reservation {
            permit,
            budget: self.permits.clone(),
            capacity: self.capacity,
        }))
    }

    /// KiB reserved now.
    pub fn reserved_kib(&self) -> usize {
        self.capacity as usize - self.permits.available_permits()
    }
}
