//! The moka store: size-aware entries with per-entry TTL, lookups, invalidation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;

use super::{CacheConfig, Touched, pubsub};
use crate::policy::shared::RedisShared;

/// One cached answer.
#[derive(Debug)]
pub struct Entry {
    /// Status (always 200 today).
    pub status: StatusCode,
    /// Response headers as the edge produced them.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Resource type of the path (`None`: system level).
    pub resource_type: Option<String>,
    /// Logical id for read/vread.
    pub id: Option<String>,
    /// Whether it is a search (invalidated by any write of its type).
    pub search: bool,
    /// When it was stored (for `Age`).
    pub stored: Instant,
    /// Time to live.
    pub ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Entry>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The cache and its invalidation channel.
pub struct ResponseCache {
    /// The `cache` section.
    pub config: CacheConfig,
    entries: Cache<String, Arc<Entry>>,
    /// Bumped by every invalidation; a response fetched across one is not stored.
    generation: Arc<AtomicU64>,
    publisher: Option<pubsub::Publisher>,
}

impl ResponseCache {
    /// Builds the cache (`None` when disabled) and, with Redis, the invalidation
    /// subscriber for this `instance`.
    pub fn build(config: &CacheConfig, redis: Option<RedisShared>, instance: &str) -> Option<Self> {
        if !config.enabled {
            return None;
        }
        let entries = Cache::builder()
            .max_capacity(config.max_bytes.as_u64())
            .weigher(|k: &String, v: &Arc<Entry>| {
                let headers: usize = v
                    .headers
                    .iter()
                    .map(|(n, v)| n.as_str().len() + v.len())
                    .sum();
                u32::try_from(k.len() + headers + v.body.len() + 128).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntryTtl)
            .support_invalidation_closures()
            .eviction_listener(|_k, _v, cause| {
                if cause == RemovalCause::Size {
                    metrics::counter!("fhirgate_cache_evictions_total").increment(1);
                }
            })
            .build();
        let mut cache = Self {
            config: config.clone(),
            entries,
            generation: Arc::new(AtomicU64::new(0)),
            publisher: None,
        };
        if let Some(redis) = redis {
            cache.publisher = Some(pubsub::Publisher::new(redis.clone(), instance));
            pubsub::spawn_subscriber(
                redis,
                instance.to_owned(),
                cache.entries.clone(),
                cache.generation.clone(),
            );
        }
        Some(cache)
    }

    /// The current invalidation generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A fresh entry for `key`.
    pub async fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let hit = self.entries.get(key).await;
        if hit.is_some() {
            metrics::counter!("fhirgate_cache_hits_total").increment(1);
        } else {
            metrics::counter!("fhirgate_cache_misses_total").increment(1);
        }
        hit
    }

    /// Stores `entry` unless an invalidation happened since `generation` was read.
    pub async fn put(&self, key: String, entry: Entry, generation: u64) {
        if self.generation() != generation {
            return;
        }
        self.entries.insert(key, Arc::new(entry)).await;
        metrics::gauge!("fhirgate_cache_bytes").set(self.entries.weighted_size() as f64);
    }

    /// Drops what `touched` names here and tells the other replicas.
    pub async fn invalidate(&self, touched: &[Touched]) {
        apply(&self.entries, &self.generation, touched);
        if let Some(p) = &self.publisher {
            p.publish(touched).await;
        }
        metrics::gauge!("fhirgate_cache_bytes").set(self.entries.weighted_size() as f64);
    }
}

impl ResponseCache {
    /// Invalidates, as for a write through the edge, every resource adapters announce on
    /// `feed` (writes they make on their own, e.g. Task updates from pharmacy answers).
    /// A lagging subscriber drops everything. The task ends with the cache.
    pub fn follow(self: &Arc<Self>, feed: &fhirgate_adapters::ChangeFeed) {
        let mut changes = feed.subscribe();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let touched = match changes.recv().await {
                    Ok(c) => vec![Touched::Type(c.resource_type, Some(c.id))],
                    Err(RecvError::Lagged(_)) => vec![Touched::All],
                    Err(RecvError::Closed) => return,
                };
                let Some(cache) = cache.upgrade() else { return };
                cache.invalidate(&touched).await;
            }
        });
    }
}

/// Removes the entries `touched` names: reads of the resource (every instance when the id
/// is unknown), searches of its type, and system-level searches.
pub(super) fn apply(
    entries: &Cache<String, Arc<Entry>>,
    generation: &AtomicU64,
    touched: &[Touched],
) {
    generation.fetch_add(1, Ordering::SeqCst);
    if touched.contains(&Touched::All) {
        entries.invalidate_all();
        return;
    }
    let touched = touched.to_vec();
    let result = entries.invalidate_entries_if(move |_k, e| {
        let Some(rt) = e.resource_type.as_deref() else {
            // System-level searches and history may include any type.
            return e.search || e.id.is_none();
        };
        touched.iter().any(|t| match t {
            Touched::Type(t, id) => {
                t == rt && (e.search || id.is_none() || e.id.is_none() || e.id == *id)
            }
            Touched::All => true,
        })
    });
    if result.is_err() {
        entries.invalidate_all();
    }
}
