//! Edge policy (issue 5): per-client rate limits, a principal-safe response cache and a
//! tamper-evident audit trail. Each works in one process with no external service, and
//! across replicas when `shared_state` names Redis (limits, cache invalidation) and
//! PostgreSQL (audit).
//!
//! `config` structs are pure and validated without I/O; [`Policy::build`] opens files,
//! connections and background tasks; the layers in [`crate::app`] use the built [`Policy`].

pub mod admission;
pub mod audit;
pub mod cache;
mod error;
pub mod principal;
pub mod ratelimit;
pub mod shared;

use std::path::Path;
use std::sync::Arc;

pub use error::PolicyError;

use crate::config::Config;

/// The built policies every request passes through; cheap to clone.
#[derive(Clone, Default)]
pub struct Policy {
    /// Rate limiter (`None`: limits off, e.g. in router tests built without I/O).
    pub limits: Option<Arc<ratelimit::Limiter>>,
    /// Response cache (`None`: off).
    pub cache: Option<Arc<cache::ResponseCache>>,
    /// Audit trail writer (`None`: off — only for router tests; `serve` always builds it).
    pub audit: Option<Arc<audit::AuditTrail>>,
}

impl Policy {
    /// Opens the audit sink (creating the HMAC key on first start for the embedded default),
    /// connects to Redis when `shared_state.redis` is set (unreachable Redis is not an error:
    /// limits fall back to local ones and reconnect in the background) and starts the
    /// background tasks (audit writer, limiter housekeeping, invalidation subscriber).
    ///
    /// Errors: the audit key or sink cannot be opened ([`PolicyError`]).
    pub async fn build(config: &Config, data_dir: &Path) -> Result<Self, PolicyError> {
        let instance = shared::instance_id();
        let redis = match &config.shared_state.redis {
            Some(r) => Some(shared::RedisShared::connect(r).await?),
            None => None,
        };
        let limits = ratelimit::Limiter::build(&config.rate_limits, redis.clone());
        let cache = cache::ResponseCache::build(&config.cache, redis, &instance);
        let audit = audit::AuditTrail::open(config, data_dir, &instance).await?;
        Ok(Self {
            limits: Some(Arc::new(limits)),
            cache: cache.map(Arc::new),
            audit: Some(Arc::new(audit)),
        })
    }
}
