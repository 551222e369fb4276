//! `ingest:` — limits of `POST /fhir/Patient/{id}/$ingest` (wearable readings).

use bytesize::ByteSize;
use serde::Deserialize;

/// The `ingest` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest accepted `$ingest` body (e.g. `2GiB`), independent of `server.body_limit`
    /// because a HealthKit export is large and is streamed, never buffered whole. A declared
    /// larger `Content-Length` answers 413. A chunked body is cut at the limit: the readings
    /// wholly within it are stored and answered, then a final `413` entry ends the answer
    /// (413 alone when none was). Re-sending is idempotent. Default 2 GiB.
    pub max_bytes: ByteSize,
    /// Readings per batch Bundle sent to the Observation route's adapter, 1 to 1000 (the
    /// embedded store processes at most 1000 entries per Bundle). Default 100.
    pub batch_size: usize,
    /// IANA zone (e.g. `Europe/Berlin`) for source times without an offset (Fitbit) when the
    /// request has no `timezone` parameter. Unset: such times keep date precision (never the
    /// host's zone). Default unset.
    pub timezone: Option<String>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_bytes: ByteSize::gib(2),
            batch_size: 100,
            timezone: None,
        }
    }
}

impl IngestConfig {
    /// Pure validation; returns `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.max_bytes.as_u64() == 0 {
            problems.push(("ingest.max_bytes".into(), "must be greater than 0".into()));
        }
        if !(1..=1000).contains(&self.batch_size) {
            problems.push((
                "ingest.batch_size".into(),
                "must be between 1 and 1000".into(),
            ));
        }
        if let Some(zone) = &self.timezone
            && let Err(e) = fhirgate_mappings::wearables::time::zone(zone)
        {
            problems.push(("ingest.timezone".into(), e));
        }
        problems
    }
}
