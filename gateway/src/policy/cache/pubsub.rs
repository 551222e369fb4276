//! Cache invalidation across replicas: each write publishes what it touched on
//! `<prefix>:cache:invalidate`; every replica subscribes and drops the same entries.
//! While Redis is down replicas may serve entries for at most their TTL.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use futures::StreamExt;
use moka::future::Cache;
use serde::{Deserialize, Serialize};

use super::store::apply;
use super::{Entry, Touched};
use crate::policy::shared::RedisShared;

#[derive(Serialize, Deserialize)]
struct Message {
    origin: String,
    /// `[type, id]` pairs; `["*", null]` = everything.
    touched: Vec<(String, Option<String>)>,
}

fn channel(redis: &RedisShared) -> String {
    format!("{}:cache:invalidate", redis.prefix)
}

/// Publishes this instance's invalidations.
pub struct Publisher {
    redis: RedisShared,
    origin: String,
}

impl Publisher {
    /// A publisher for `origin` (this instance's id).
    pub fn new(redis: RedisShared, origin: &str) -> Self {
        Self {
            redis,
            origin: origin.to_owned(),
        }
    }

    /// Publishes (best effort: failures are logged and counted).
    pub async fn publish(&self, touched: &[Touched]) {
        let message = Message {
            origin: self.origin.clone(),
            touched: touched
                .iter()
                .map(|t| match t {
                    Touched::Type(rt, id) => (rt.clone(), id.clone()),
                    Touched::All => ("*".into(), None),
                })
                .collect(),
        };
        let Ok(text) = serde_json::to_string(&message) else {
            return;
        };
        let Some(mut conn) = self.redis.connection().await else {
            metrics::counter!("fhirgate_cache_invalidation_publish_failures_total").increment(1);
            return;
        };
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel(&self.redis)).arg(text);
        let publish = cmd.query_async::<i64>(&mut conn);
        let failed = match tokio::time::timeout(self.redis.timeout, publish).await {
            Ok(Ok(_)) => false,
            Ok(Err(_)) => {
                self.redis.reset().await;
                true
            }
            Err(_) => {
                self.redis.timed_out().await;
                true
            }
        };
        if failed {
            metrics::counter!("fhirgate_cache_invalidation_publish_failures_total").increment(1);
            tracing::warn!("cache invalidation not published to redis");
        }
    }
}

/// Subscribes (reconnecting every second while Redis is down) and applies invalidations
/// from other instances.
pub fn spawn_subscriber(
    redis: RedisShared,
    origin: String,
    entries: Cache<String, Arc<Entry>>,
    generation: Arc<AtomicU64>,
) {
    tokio::spawn(async move {
        loop {
            if let Ok(mut pubsub) = redis.client().get_async_pubsub().await {
                if pubsub.subscribe(channel(&redis)).await.is_ok() {
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(text) = msg.get_payload::<String>() else {
                            continue;
                        };
                        let Ok(m) = serde_json::from_str::<Message>(&text) else {
                            continue;
                        };
                        if m.origin == origin {
                            continue;
                        }
                        let touched: Vec<Touched> = m
                            .touched
                            .into_iter()
                            .map(|(rt, id)| {
                                if rt == "*" {
                                    Touched::All
                                } else {
                                    Touched::Type(rt, id)
                                }
                            })
                            .collect();
                        apply(&entries, &generation, &touched);
                    }
                }
                tracing::warn!("redis invalidation subscription ended; resubscribing");
            }
            // Entries cached while unsubscribed may have missed invalidations.
            entries.invalidate_all();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
