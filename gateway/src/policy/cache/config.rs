//! `cache:` — the response cache's size bound and per-type TTLs.

use bytesize::ByteSize;
use indexmap::IndexMap;
use serde::Deserialize;

/// The `cache` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Cache on or off. Default true.
    pub enabled: bool,
    /// Bound on cached bytes (keys, headers and bodies); least valuable entries are evicted
    /// first (moka's TinyLFU with a weigher). Default 64 MiB.
    pub max_bytes: ByteSize,
    /// Largest single response kept. Default 1 MiB.
    pub max_entry_bytes: ByteSize,
    /// Seconds a response stays fresh unless its type has its own TTL; 0 disables caching
    /// for those types. Default 30.
    pub default_ttl_seconds: u64,
    /// Per resource type TTL in seconds (e.g. `Patient: 60`, `Observation: 0` = never cached).
    /// `metadata` uses the key `CapabilityStatement`.
    pub ttl_seconds: IndexMap<String, u64>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: ByteSize::mib(64),
            max_entry_bytes: ByteSize::mib(1),
            default_ttl_seconds: 30,
            ttl_seconds: IndexMap::new(),
        }
    }
}

impl CacheConfig {
    /// TTL in seconds for `resource_type` (system-level searches: the default).
    pub fn ttl(&self, resource_type: Option<&str>) -> u64 {
        resource_type
            .and_then(|t| self.ttl_seconds.get(t).copied())
            .unwrap_or(self.default_ttl_seconds)
    }

    /// Pure checks; `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.enabled && self.max_bytes.as_u64() == 0 {
            problems.push((
                "cache.max_bytes".into(),
                "must be greater than 0 (or set enabled: false)".into(),
            ));
        }
        if self.max_entry_bytes.as_u64() > u64::from(u32::MAX) {
            problems.push((
                "cache.max_entry_bytes".into(),
                "must be at most 4 GiB".into(),
            ));
        }
        for t in self.ttl_seconds.keys() {
            if !(fhirgate_adapters::interaction::is_resource_type(t) || t == "CapabilityStatement")
            {
                problems.push((
                    format!("cache.ttl_seconds.{t}"),
                    "is not an R4 resource type".into(),
                ));
            }
        }
        problems
    }
}
