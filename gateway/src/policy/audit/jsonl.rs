//! The default audit sink: one JSON object per line, `{"seq":N,"mac":"hex","event":{…}}`,
//! with the chain head checkpoint in a separate file replaced atomically after each batch.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::chain::{self, Checkpoint, Head, Stored};
use crate::policy::PolicyError;

const SINK: &str = "jsonl";

/// The JSON-lines log and its checkpoint file.
pub struct JsonlSink {
    path: PathBuf,
    checkpoint: PathBuf,
    fsync: bool,
    head: Head,
    /// The log opened for appending, kept across batches (opened on first append).
    file: Option<std::fs::File>,
}

#[derive(Deserialize)]
struct Line<'a> {
    seq: u64,
    mac: String,
    #[serde(borrow)]
    event: &'a RawValue,
}

#[derive(serde::Serialize, Deserialize)]
struct CheckpointFile {
    count: u64,
    mac: String,
    signature: String,
}

impl JsonlSink {
    /// Opens (creating directories) the log; the head is the last stored record. When the
    /// checkpoint lags the log by the last batch (a crash between the two writes), it is
    /// brought up to date; when it is ahead (a truncated log) numbering continues after it,
    /// so the gap stays for `audit verify` to report. A damaged log does not stop startup.
    pub fn open(
        path: &Path,
        checkpoint: &Path,
        fsync: bool,
        key: &[u8],
    ) -> Result<Self, PolicyError> {
        for p in [path, checkpoint] {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| PolicyError::sink(SINK, e))?;
            }
        }
        let mut sink = Self {
            path: path.to_owned(),
            checkpoint: checkpoint.to_owned(),
            fsync,
            head: Head::default(),
            file: None,
        };
        let logged = match sink.read_records() {
            Ok(mut records) => records.pop().map(|last| Head {
                count: last.seq,
                mac: last.mac,
            }),
            Err(e) => {
                tracing::error!(error = %e, "audit log unreadable; run `fhirgate audit verify`");
                None
            }
        };
        let stored = sink
            .read_checkpoint()?
            .filter(|c| c.signature == c.head.signature(key));
        sink.head = match (logged, stored) {
            // The log lost records the checkpoint counts: keep numbering after the
            // checkpoint, so the gap stays visible to `audit verify` instead of being
            // papered over by the next checkpoint.
            (Some(log), Some(cp)) if cp.head.count > log.count => {
                tracing::error!(
                    "audit log is shorter than its checkpoint; run `fhirgate audit verify`"
                );
                cp.head
            }
            (None, Some(cp)) => cp.head,
            (Some(log), _) => log,
            (None, None) => Head::default(),
        };
        if stored.is_none_or(|c| c.head.count < sink.head.count) {
            sink.write_checkpoint(key)?;
        }
        Ok(sink)
    }

    /// The files without reading or repairing anything (for `audit verify`).
    pub fn reader(path: &Path, checkpoint: &Path) -> Self {
        Self {
            path: path.to_owned(),
            checkpoint: checkpoint.to_owned(),
            fsync: false,
            head: Head::default(),
            file: None,
        }
    }

    /// Appends `records` (exact bytes) after the head, then replaces the checkpoint. The
    /// head advances only when both writes succeed. Blocking file I/O.
    pub fn append<'r>(
        &mut self,
        records: impl IntoIterator<Item = &'r [u8]>,
        key: &[u8],
    ) -> Result<(), PolicyError> {
        let previous = self.head;
        self.append_log(records, key)?;
        if let Err(e) = self.write_checkpoint(key) {
            self.head = previous;
            return Err(e);
        }
        Ok(())
    }

    /// Appends `records` after the head and makes them durable (write, then fsync when
    /// configured); the head advances when that succeeds. The checkpoint is not touched:
    /// the writer acknowledges the records first and then calls [`JsonlSink::checkpoint`]
    /// (a checkpoint lagging the log is brought up to date at the next start). Blocking.
    pub fn append_log<'r>(
        &mut self,
        records: impl IntoIterator<Item = &'r [u8]>,
        key: &[u8],
    ) -> Result<(), PolicyError> {
        let mut head = self.head;
        let mut out = Vec::new();
        for r in records {
            let (seq, mac) = head.append(key, r);
            out.extend_from_slice(
                format!(
                    "{{\"seq\":{seq},\"mac\":\"{}\",\"event\":",
                    chain::to_hex(&mac)
                )
                .as_bytes(),
            );
            out.extend_from_slice(r);
            out.extend_from_slice(b"}\n");
        }
        if !self.file.as_ref().is_some_and(|f| same_file(f, &self.path)) {
            self.file = None;
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(|e| PolicyError::sink(SINK, e))?,
            ),
        };
        let written = file
            .write_all(&out)
            .and_then(|()| if self.fsync { file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            // Reopened next time: a partial line stays for `audit verify` to report.
            self.file = None;
            return Err(PolicyError::sink(SINK, e));
        }
        self.head = head;
        Ok(())
    }

    /// Replaces the checkpoint with the current head (atomically: a temporary file renamed
    /// over it). Blocking.
    pub fn checkpoint(&self, key: &[u8]) -> Result<(), PolicyError> {
        self.write_checkpoint(key)
    }

    fn write_checkpoint(&self, key: &[u8]) -> Result<(), PolicyError> {
        let file = CheckpointFile {
            count: self.head.count,
            mac: chain::to_hex(&self.head.mac),
            signature: chain::to_hex(&self.head.signature(key)),
        };
        let tmp = self.checkpoint.with_extension("head.tmp");
        let text = serde_json::to_string(&file).map_err(|e| PolicyError::sink(SINK, e))?;
        std::fs::write(&tmp, text).map_err(|e| PolicyError::sink(SINK, e))?;
        std::fs::rename(&tmp, &self.checkpoint).map_err(|e| PolicyError::sink(SINK, e))
    }

    /// The stored checkpoint, `None` when there is none yet.
    pub fn read_checkpoint(&self) -> Result<Option<Checkpoint>, PolicyError> {
        let text = match std::fs::read_to_string(&self.checkpoint) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PolicyError::sink(SINK, e)),
        };
        let bad = || PolicyError::sink(SINK, "checkpoint file is malformed");
        let file: CheckpointFile = serde_json::from_str(&text).map_err(|_| bad())?;
        Ok(Some(Checkpoint {
            head: Head {
                count: file.count,
                mac: chain::from_hex(&file.mac).ok_or_else(bad)?,
            },
            signature: chain::from_hex(&file.signature).ok_or_else(bad)?,
        }))
    }

    /// Every stored record in file order. A line that is not a record is an error naming
    /// its line number.
    pub fn read_records(&self) -> Result<Vec<Stored>, PolicyError> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(PolicyError::sink(SINK, e)),
        };
        let mut records = Vec::new();
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let position = i as u64 + 1;
            let bad = || PolicyError::sink(SINK, format!("line {position} is not an audit record"));
            let parsed: Line<'_> = serde_json::from_slice(line).map_err(|_| bad())?;
            records.push(Stored {
                position,
                seq: parsed.seq,
                mac: chain::from_hex(&parsed.mac).ok_or_else(bad)?,
                record: parsed.event.get().as_bytes().to_vec(),
            });
        }
        Ok(records)
    }
}

/// Whether `open` is still the file at `path` (a moved, deleted or replaced log is
/// reopened, so records never go to an unlinked file). One `stat` per batch.
#[cfg(unix)]
fn same_file(open: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (open.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_open: &std::fs::File, _path: &Path) -> bool {
    false
}
