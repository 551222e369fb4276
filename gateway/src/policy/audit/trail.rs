//! The running trail: the bounded queue, the writer task (group commit), and verification.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc, oneshot};

use super::{Sink, chain, event, key};
use crate::config::Config;
use crate::policy::PolicyError;

/// One record waiting to be written; `ack` says whether it was.
pub struct Job {
    /// The AuditEvent JSON bytes (exactly what is MACed and stored).
    pub record: Vec<u8>,
    /// Its search index.
    pub index: event::Index,
    /// Completed with `true` once the record is durable in the sink.
    pub ack: oneshot::Sender<bool>,
}

/// The running audit trail: the queue's sending side and the sink (shared with search).
pub struct AuditTrail {
    /// Bounded queue to the writer task (`audit.queue`).
    pub queue: mpsc::Sender<Job>,
    /// The sink, locked by the writer per batch and by searches.
    pub sink: Arc<Mutex<Sink>>,
    /// This gateway instance (`AuditEvent.source.observer`).
    pub instance: String,
    /// `audit.fail_open`.
    pub fail_open: bool,
    /// `audit.write_timeout_ms`.
    pub write_timeout: Duration,
}

impl AuditTrail {
    /// Loads the key (generating the embedded default), opens the sink and starts the
    /// writer task. Errors: key or sink unavailable at startup.
    pub async fn open(
        config: &Config,
        data_dir: &Path,
        instance: &str,
    ) -> Result<Self, PolicyError> {
        let audit = &config.audit;
        let key = Arc::new(key::load(audit, data_dir, true)?);
        let sink = Arc::new(Mutex::new(Sink::open(config, data_dir, &key).await?));
        let (queue, rx) = mpsc::channel(audit.queue);
        tokio::spawn(write_loop(rx, sink.clone(), key));
        Ok(Self {
            queue,
            sink,
            instance: instance.to_owned(),
            fail_open: audit.fail_open,
            write_timeout: Duration::from_millis(audit.write_timeout_ms),
        })
    }
}

/// The writer: takes whatever is queued (up to 256 records), appends it as one batch (one
/// write and fsync, one checkpoint update), then acknowledges each record.
async fn write_loop(mut rx: mpsc::Receiver<Job>, sink: Arc<Mutex<Sink>>, key: Arc<Vec<u8>>) {
    let mut jobs = Vec::with_capacity(256);
    while rx.recv_many(&mut jobs, 256).await > 0 {
        let started = Instant::now();
        let batch: Vec<(Vec<u8>, event::Index)> = jobs
            .iter_mut()
            .map(|j| (std::mem::take(&mut j.record), std::mem::take(&mut j.index)))
            .collect();
        let result = sink.lock().await.append(&batch, &key).await;
        metrics::histogram!("fhirgate_audit_write_seconds").record(started.elapsed().as_secs_f64());
        let ok = match result {
            Ok(()) => {
                metrics::counter!("fhirgate_audit_records_total").increment(batch.len() as u64);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, records = batch.len(), "audit sink failed");
                metrics::counter!("fhirgate_audit_failures_total", "reason" => "sink")
                    .increment(batch.len() as u64);
                false
            }
        };
        for job in jobs.drain(..) {
            let _ = job.ack.send(ok);
        }
    }
}

/// Why `audit verify` failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken; the message names the first bad record.
    #[error("audit trail broken: {0}")]
    Broken(#[from] chain::Broken),
    /// The key or the sink could not be read.
    #[error(transparent)]
    Unreadable(#[from] PolicyError),
}

/// Verifies the configured trail (`fhirgate audit verify`): every record's MAC and sequence,
/// then the head against the checkpoint. Returns the head (record count) when intact.
pub async fn verify(config: &Config, data_dir: &Path) -> Result<chain::Head, VerifyError> {
    let key = key::load(&config.audit, data_dir, false)?;
    let sink = Sink::open_for_reading(config, data_dir).await?;
    let records = match sink.records().await {
        Ok(r) => r,
        // A line that is not a record is itself the first broken record.
        Err(PolicyError::AuditSink { detail, .. }) if detail.contains("not an audit record") => {
            return Err(chain::Broken(detail).into());
        }
        Err(e) => return Err(e.into()),
    };
    let checkpoint = sink.checkpoint().await?;
    Ok(chain::verify(&key, records, checkpoint)?)
}
