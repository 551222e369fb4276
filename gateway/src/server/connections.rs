//! Connection limits (attack finding MEDIUM N3): a cap on open connections, so that many
//! connections cannot use up the file descriptors everything else needs, and a per-address
//! cap on *silent* connections (accepted, no request head read yet), so one address holding
//! connections open without a request (slowloris) cannot take that cap from every other
//! client.
//!
//! [`Connections::admit`] runs in the accept loop, once per accepted connection: a counter
//! compare, then short locks of the per-address map and of the queue of silent connections.
//! A refused connection is dropped at once (the client sees the close). An admitted one
//! holds an [`OpenSlot`] for its life and a [`SilentSlot`] until its first request reaches
//! the service ([`SilentSlot::spoke`]: one relaxed atomic load per request after that) or
//! until it closes.
//!
//! At the total cap a new connection first evicts the oldest silent one (its task is told
//! through [`Eviction::wait`] and drops it): silent connections from many addresses, which
//! the per-address cap does not catch, then cannot keep a client that sends its request at
//! once from being served. Only when no connection is silent is the new one refused.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge};
use tokio::sync::Notify;

/// At most one warning per this long about refused connections; the counts are in
/// `fhirgate_connections_refused_total`.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(5);

/// How far evictions may take the open count past `server.max_connections` while the
/// evicted connections' tasks close them (a few scheduler turns). Comes out of the file
/// descriptors kept in reserve (`server.max_connections` leaves at least 256).
const EVICTION_SLACK: usize = 64;

/// Why a connection was refused (the `reason` label of `fhirgate_connections_refused_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `server.max_connections` connections are open.
    MaxConnections,
    /// Its address has `server.max_silent_connections_per_ip` silent connections.
    PerIpSilent,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::MaxConnections => "max_connections",
            Self::PerIpSilent => "per_ip_silent",
        }
    }
}

/// The open and silent connections of one listener, and their caps.
pub(super) struct Connections {
    max_open: usize,
    /// 0: no per-address cap.
    max_silent_per_ip: usize,
    open: AtomicUsize,
    /// Silent connections per [`address_key`]; an address leaves the map at 0.
    silent: Mutex<HashMap<IpAddr, usize>>,
    /// Silent connections by accept order, oldest first: the ones to evict at the cap.
    queue: Mutex<BTreeMap<u64, Arc<SilentState>>>,
    next_seq: AtomicU64,
    open_gauge: Gauge,
    silent_gauge: Gauge,
    refused: [Counter; 2],
    evicted: Counter,
    /// When a refusal was last logged, and how many were not logged since.
    refusal_log: Mutex<(Option<Instant>, u64)>,
}

impl Connections {
    /// Caps of `max_open` connections and `max_silent_per_ip` silent ones per address (0:
    /// none). Registers the metrics, so they read 0 before the first connection.
    pub(super) fn new(max_open: usize, max_silent_per_ip: usize) -> Arc<Self> {
        let refused = |reason: &'static str| metrics::counter!("fhirgate_connections_refused_total", "reason" => reason);
        Arc::new(Self {
            max_open,
            max_silent_per_ip,
            open: AtomicUsize::new(0),
            silent: Mutex::new(HashMap::new()),
            queue: Mutex::new(BTreeMap::new()),
            next_seq: AtomicU64::new(0),
            open_gauge: metrics::gauge!("fhirgate_connections_open"),
            silent_gauge: metrics::gauge!("fhirgate_connections_silent"),
            refused: [
                refused(Refusal::MaxConnections.label()),
                refused(Refusal::PerIpSilent.label()),
            ],
            evicted: metrics::counter!("fhirgate_connections_evicted_total"),
            refusal_log: Mutex::new((None, 0)),
        })
    }

    /// Admits a connection from `ip` (counted open and silent), or says why not: counted in
    /// `fhirgate_connections_refused_total` and logged at most every few seconds. At the
    /// total cap the oldest silent connection is evicted to make room (counted in
    /// `fhirgate_connections_evicted_total`); only with none silent is `ip` refused. Called
    /// by the accept loop only, so the open count cannot pass the cap between compare and add.
    pub(super) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<(OpenSlot, SilentSlot), Refusal> {
        let key = address_key(ip);
        if let Err(refusal) = self.count_silent(key) {
            self.refused(refusal, ip);
            return Err(refusal);
        }
        let open = self.open.load(Ordering::Acquire);
        if open >= self.max_open
            && !(open < self.max_open.saturating_add(EVICTION_SLACK) && self.evict_oldest())
        {
            self.uncount_silent(key);
            self.refused(Refusal::MaxConnections, ip);
            return Err(Refusal::MaxConnections);
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        self.open_gauge.increment(1.0);
        self.silent_gauge.increment(1.0);
        let state = Arc::new(SilentState {
            silent: AtomicBool::new(true),
            evict: Notify::new(),
        });
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(seq, state.clone());
        let open = OpenSlot(self.clone());
        let silent = SilentSlot {
            connections: self.clone(),
            key,
            seq,
            state,
        };
        Ok((open, silent))
    }

    /// Tells the oldest silent connection to close; false when none is silent.
    fn evict_oldest(&self) -> bool {
        let oldest = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_first();
        let Some((_, state)) = oldest else {
            return false;
        };
        state.evict.notify_one();
        self.evicted.increment(1);
        true
    }

    fn count_silent(&self, key: IpAddr) -> Result<(), Refusal> {
        if self.max_silent_per_ip == 0 {
            return Ok(());
        }
        let mut silent = self.silent.lock().unwrap_or_else(PoisonError::into_inner);
        let count = silent.entry(key).or_insert(0);
        if *count >= self.max_silent_per_ip {
            return Err(Refusal::PerIpSilent);
        }
        *count += 1;
        Ok(())
    }

    /// A silent connection spoke or closed: out of the gauge, its address's count and the
    /// eviction queue.
    fn release_silent(&self, key: IpAddr, seq: u64) {
        self.silent_gauge.decrement(1.0);
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&seq);
        self.uncount_silent(key);
    }

    fn uncount_silent(&self, key: IpAddr) {
        if self.max_silent_per_ip == 0 {
            return;
        }
        let mut silent = self.silent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = silent.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                silent.remove(&key);
            }
        }
    }

    fn refused(&self, refusal: Refusal, ip: IpAddr) {
        self.refused[refusal as usize].increment(1);
        let mut log = self
            .refusal_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (last, unlogged) = &mut *log;
        if last.is_some_and(|at| at.elapsed() < REFUSAL_LOG_EVERY) {
            *unlogged += 1;
            return;
        }
        tracing::warn!(
            reason = refusal.label(),
            client = %address_key(ip),
            open = self.open.load(Ordering::Relaxed),
            max_connections = self.max_open,
            max_silent_connections_per_ip = self.max_silent_per_ip,
            refused_since_last_warning = *unlogged,
            "connection refused and closed (see fhirgate_connections_refused_total)"
        );
        *last = Some(Instant::now());
        *unlogged = 0;
    }
}

/// One open connection; dropped when it closes.
pub(super) struct OpenSlot(Arc<Connections>);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.open_gauge.decrement(1.0);
    }
}

/// A connection silent so far: it counts against its address's cap and may be evicted at
/// the total cap until [`Self::spoke`], or until dropped.
pub(super) struct SilentSlot {
    connections: Arc<Connections>,
    key: IpAddr,
    seq: u64,
    state: Arc<SilentState>,
}

/// Shared by a [`SilentSlot`] and its connection's task ([`Eviction`]).
pub(super) struct SilentState {
    silent: AtomicBool,
    evict: Notify,
}

impl SilentSlot {
    /// A request head was read: the connection no longer counts as silent. On every request
    /// after the first, one relaxed load.
    #[inline]
    pub(super) fn spoke(&self) {
        if self.state.silent.load(Ordering::Relaxed)
            && self.state.silent.swap(false, Ordering::Relaxed)
        {
            self.connections.release_silent(self.key, self.seq);
        }
    }

    /// What the connection's task waits on to drop the connection when it is evicted.
    pub(super) fn eviction(&self) -> Eviction {
        Eviction(self.state.clone())
    }
}

impl Drop for SilentSlot {
    fn drop(&mut self) {
        if self.state.silent.load(Ordering::Relaxed) {
            self.connections.release_silent(self.key, self.seq);
        }
    }
}

/// The eviction of one connection, awaited by its task.
pub(super) struct Eviction(Arc<SilentState>);

impl Eviction {
    /// Completes when the connection was evicted while still silent. An eviction that
    /// raced with its first request is ignored (the request is served), so this then
    /// never completes.
    pub(super) async fn wait(&self) {
        loop {
            self.0.evict.notified().await;
            if self.0.silent.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

/// The address a connection counts against: an IPv4 address (also when it arrives mapped
/// into IPv6 on a dual-stack listener), or the /64 prefix of an IPv6 one, the smallest
/// block a site is given (RFC 6177), so one host cannot pass the cap by changing the
/// interface part of its address.
pub(super) fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !(u128::MAX >> 64)).into()),
    }
}

#[cfg(test)]
#[path = "connections_tests.rs"]
mod tests;
