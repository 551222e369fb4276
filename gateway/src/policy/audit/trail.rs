//! The running trail: the bounded queue, the writer task (group commit), closing it at
//! shutdown, and verification.

use std::path::Path;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

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
    /// `audit.release: queued`: answers leave once their record is queued.
    pub release_queued: bool,
    /// The writer task, for [`AuditTrail::close`].
    writer: Arc<Writer>,
}

/// One trail's writer task: how to ask it to finish, and the task to wait for.
struct Writer {
    /// Asks the writer to close its queue (see [`AuditTrail::close`]).
    close: Arc<Notify>,
    /// The task, until a close takes it to wait for it.
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    async fn close(&self, timeout: Duration) -> bool {
        self.close.notify_one();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(task) = task else {
            return true;
        };
        matches!(tokio::time::timeout(timeout, task).await, Ok(Ok(())))
    }
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
        let gather = (audit.release == super::config::Release::Queued).then_some(QUEUED_GATHER);
        let close = Arc::new(Notify::new());
        let task = tokio::spawn(write_loop(
            rx,
            sink.clone(),
            key,
            Pending {
                queue: queue.downgrade(),
                gather,
                close: close.clone(),
            },
        ));
        let writer = Arc::new(Writer {
            close,
            task: std::sync::Mutex::new(Some(task)),
        });
        Ok(Self {
            queue,
            sink,
            instance: instance.to_owned(),
            fail_open: audit.fail_open,
            write_timeout: Duration::from_millis(audit.write_timeout_ms),
            release_queued: audit.release == super::config::Release::Queued,
            writer,
        })
    }

    /// Closes the trail for shutdown: the queue takes no new record (a request that has not
    /// reserved its slot yet is refused as with a full queue), the writer stores every
    /// record still queued or sent through an already reserved slot, replaces the
    /// checkpoint and stops. Returns `true` once it has, `false` when it did not within
    /// `timeout` (or had panicked). A second call returns `true` at once.
    pub async fn close(&self, timeout: Duration) -> bool {
        self.writer.close(timeout).await
    }
}

/// What the writer watches besides its queue.
struct Pending {
    /// The queue's sending side, to tell whether a request waits behind a batch.
    queue: mpsc::WeakSender<Job>,
    /// `Some` with `audit.release: queued` ([`QUEUED_GATHER`]).
    gather: Option<Duration>,
    /// Notified by [`AuditTrail::close`].
    close: Arc<Notify>,
}

/// With `audit.release: queued` nobody waits for a batch, so the writer gathers records for
/// up to this long after a batch (one write and fsync per interval instead of one per
/// handful of records, each fsync costing the disk's flush), unless a quarter of the queue
/// is already waiting.
const QUEUED_GATHER: Duration = Duration::from_millis(10);

/// Longest a JSON-lines checkpoint lags its log while records keep arriving.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// The writer: takes whatever is queued (up to 256 records), appends it as one batch (one
/// write and fsync, off the runtime's workers) and acknowledges each record once it is
/// durable; while a batch is written the next one accumulates (group commit). The
/// checkpoint (a file replaced by rename, as slow as an fsync on many disks) is replaced
/// after the acknowledgements: at once when no other request is waiting, and otherwise
/// once the queue drains or at least every [`CHECKPOINT_INTERVAL`], so it neither delays
/// an answer nor, under load, bounds the batch rate; a checkpoint lagging the log after a
/// crash is brought up to date at the next start. It stops once the queue is closed (every sender dropped, or
/// [`AuditTrail::close`]) and drained, after a last checkpoint.
async fn write_loop(
    mut rx: mpsc::Receiver<Job>,
    sink: Arc<Mutex<Sink>>,
    key: Arc<Vec<u8>>,
    pending: Pending,
) {
    let Pending {
        queue,
        gather,
        close,
    } = pending;
    let mut jobs = Vec::with_capacity(256);
    let mut last_checkpoint = Instant::now();
    let enough = (rx.max_capacity() / 4).max(1);
    let mut closed = false;
    loop {
        let received = if closed {
            rx.recv_many(&mut jobs, 256).await
        } else {
            tokio::select! {
                received = rx.recv_many(&mut jobs, 256) => received,
                () = close.notified() => {
                    // Queued records and those of reserved slots are still received.
                    rx.close();
                    closed = true;
                    continue;
                }
            }
        };
        if received == 0 {
            break;
        }
        if let Some(gather) = gather {
            let until = Instant::now() + gather;
            while rx.len() + jobs.len() < enough && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            while jobs.len() < 1024
                && let Ok(job) = rx.try_recv()
            {
                jobs.push(job);
            }
        }
        let started = Instant::now();
        let mut acks = Vec::with_capacity(jobs.len());
        let batch: Vec<(Vec<u8>, event::Index)> = jobs
            .drain(..)
            .map(|j| {
                acks.push(j.ack);
                (j.record, j.index)
            })
            .collect();
        let records = batch.len();
        let locked = sink.clone().lock_owned().await;
        let durable = move |ok: bool| {
            for ack in acks {
                let _ = ack.send(ok);
            }
        };
        // No queued record and no reserved slot (every request reserves one before it
        // runs): nobody waits behind this batch, so the checkpoint follows it at once.
        let waiting = queue.clone();
        let idle = move || {
            waiting
                .upgrade()
                .is_none_or(|q| q.capacity() == q.max_capacity())
        };
        let result = Sink::append_locked(locked, batch, key.clone(), durable, idle).await;
        metrics::histogram!("fhirgate_audit_write_seconds").record(started.elapsed().as_secs_f64());
        let checkpointed = match result {
            Ok(done) => {
                metrics::counter!("fhirgate_audit_records_total").increment(records as u64);
                done
            }
            Err(e) => {
                tracing::error!(error = %e, records, "audit sink failed");
                metrics::counter!("fhirgate_audit_failures_total", "reason" => "sink")
                    .increment(records as u64);
                false
            }
        };
        if checkpointed {
            last_checkpoint = Instant::now();
        } else if rx.is_empty() || last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL {
            checkpoint(&sink, &key).await;
            last_checkpoint = Instant::now();
        }
    }
    checkpoint(&sink, &key).await;
}

async fn checkpoint(sink: &Arc<Mutex<Sink>>, key: &Arc<Vec<u8>>) {
    let locked = sink.clone().lock_owned().await;
    if let Err(e) = Sink::checkpoint_locked(locked, key.clone()).await {
        // The records are durable; the next checkpoint (or the next start) catches up.
        metrics::counter!("fhirgate_audit_checkpoint_failures_total").increment(1);
        tracing::error!(error = %e, "audit checkpoint not updated");
    }
}

/// Why `audit verify` failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken; the message names the first bad record. (Not an error
    /// `source`: the message already carries it, and `audit verify` prints the chain.)
    #[error("audit trail broken: {0}")]
    Broken(chain::Broken),
    /// The key or the sink could not be read.
    #[error(transparent)]
    Unreadable(#[from] PolicyError),
}

impl From<chain::Broken> for VerifyError {
    fn from(broken: chain::Broken) -> Self {
        Self::Broken(broken)
    }
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
