//! [`BodyBudget`]: the process-wide budget of request-body bytes buffered at once
//! (`server.max_buffered_request_bytes`), kept as permits of one KiB in a fair (FIFO)
//! [`Semaphore`], and each client's share of it
//! (`server.max_buffered_request_bytes_per_client`, attack finding MEDIUM 6: one client's
//! connections declaring large bodies held the whole budget).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fhirgate_adapters::interaction::Principal;
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
    /// One client's share in KiB; `None`: no share (the budget alone applies).
    share_kib: Option<u32>,
    /// KiB each client holds now; only clients holding some are present.
    held: Arc<Mutex<HashMap<ClientKey, u32>>>,
    /// Keys the client hash, so no one can pick names that collide with another's.
    keys: std::collections::hash_map::RandomState,
}

/// Who a reservation is counted against (see [`BodyBudget::client_key`]): a keyed hash,
/// so computing it allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u64);

/// KiB of one client's share held by one reservation, returned on drop.
#[derive(Debug)]
struct ShareHold {
    held: Arc<Mutex<HashMap<ClientKey, u32>>>,
    client: ClientKey,
    kib: u32,
}

impl Drop for ShareHold {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(kib) = held.get_mut(&self.client) {
            *kib = kib.saturating_sub(self.kib);
            if *kib == 0 {
                held.remove(&self.client);
            }
        }
    }
}

/// Bytes of the budget a request holds until it is dropped (with its response).
#[derive(Debug)]
pub struct Reservation {
    permit: OwnedSemaphorePermit,
    budget: Arc<Semaphore>,
    capacity: u32,
    /// The client's share, when shares apply; returned after the permits.
    _share: Option<ShareHold>,
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

/// Why [`BodyBudget::admit_as`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No room in the whole budget within the wait: 503 (the server is busy).
    Exhausted(Exhausted),
    /// The client's own reservations already fill its share: 429 at once (RFC 6585 §4: the
    /// client sent too much), whatever room the budget has.
    ClientShare {
        /// One client's share in bytes.
        share_bytes: u64,
    },
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
            share_kib: None,
            held: Arc::default(),
            keys: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The same budget, of which one client may hold at most `share_bytes` (rounded up to
    /// whole KiB) through [`Self::admit_as`]; `None` or a share of the whole budget: no share.
    pub fn with_client_share(mut self, share_bytes: Option<u64>) -> Self {
        self.share_kib = share_bytes
            .map(|bytes| bytes.div_ceil(PERMIT_BYTES).min(u64::from(u32::MAX)) as u32)
            .filter(|kib| *kib < self.capacity);
        self
    }

    /// The client a request is counted against: the validated token's client (`client_id`,
    /// else `azp`, else `sub`, as the authentication step resolved it) together with the user
    /// it acts for (`fhirUser`, else the `patient` context), so one user of an app does not
    /// use up the share of the app's other users; without a validated token, the peer IP.
    pub fn client_key(&self, principal: Option<&Principal>, ip: Option<IpAddr>) -> ClientKey {
        ClientKey(match principal {
            Some(p) => {
                let user = p.fhir_user.as_deref().or(p.patient.as_deref());
                self.keys.hash_one((0u8, p.client_id.as_str(), user))
            }
            None => self.keys.hash_one((1u8, ip)),
        })
    }

    /// [`Self::client_key`] of a request, from the [`Principal`] the identify layer put in
    /// its `extensions` and the peer address.
    pub fn client_of(&self, extensions: &axum::http::Extensions) -> ClientKey {
        let ip = extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        self.client_key(extensions.get::<Principal>(), ip)
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
        self.acquire(bytes, None).await
    }

    /// Like [`Self::admit`] for `client`, which first takes the bytes from its share: when
    /// its reservations held now plus these would pass the share, it is refused at once.
    ///
    /// Errors: [`Refused::ClientShare`] when its share is full, [`Refused::Exhausted`] when
    /// the budget had no room within the wait.
    pub async fn admit_as(
        &self,
        bytes: u64,
        client: ClientKey,
    ) -> Result<Option<Reservation>, Refused> {
        if bytes == 0 {
            return Ok(None);
        }
        let share = match self.share_kib {
            Some(limit) => {
                let kib = self.kib(bytes);
                let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
                let holds = held.entry(client).or_insert(0);
                if u64::from(*holds) + u64::from(kib) > u64::from(limit) {
                    if *holds == 0 {
                        held.remove(&client);
                    }
                    return Err(Refused::ClientShare {
                        share_bytes: u64::from(limit) * PERMIT_BYTES,
                    });
                }
                *holds += kib;
                Some(ShareHold {
                    held: self.held.clone(),
                    client,
                    kib,
                })
            }
            None => None,
        };
        // A refusal drops `share`, which gives the share back.
        self.acquire(bytes, share).await.map_err(Refused::Exhausted)
    }

    /// `bytes` in whole KiB, at most the whole budget.
    fn kib(&self, bytes: u64) -> u32 {
        bytes.div_ceil(PERMIT_BYTES).min(u64::from(self.capacity)) as u32
    }

    /// Waits up to the budget's wait for `bytes` of permits.
    async fn acquire(
        &self,
        bytes: u64,
        share: Option<ShareHold>,
    ) -> Result<Option<Reservation>, Exhausted> {
        let kib = self.kib(bytes);
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
            _share: share,
        }))
    }

    /// KiB reserved now.
    pub fn reserved_kib(&self) -> usize {
        self.capacity as usize - self.permits.available_permits()
    }
}
