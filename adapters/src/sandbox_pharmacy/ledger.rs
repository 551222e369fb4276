//! The sandbox pharmacy's ledger: every MessageID it processed with the answer it gave
//! and whether its follow-up (RxFill, CancelRxResponse) was sent, in a JSON-lines file in
//! the data dir (fsynced per record), so a restart still recognises repeats and resends
//! follow-ups still owed.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::AdapterError;

/// One processed message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The message type (`NewRx`, `CancelRx`).
    pub kind: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The SCRIPT answer given.
    pub answer: String,
    /// The message as received (for its follow-up).
    pub request: String,
    /// Whether a follow-up is owed (accepted messages only).
    pub follow_up: bool,
    /// Whether the follow-up was sent (or is no longer due).
    #[serde(default)]
    pub done: bool,
    /// For a CancelRx: whether it was approved (the fill was still owed on receipt).
    #[serde(default)]
    pub approved: Option<bool>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Line {
    Processed { id: String, entry: Entry },
    Done { id: String },
}

/// Processed MessageIDs, in memory and on disk.
pub(crate) struct Ledger {
    path: PathBuf,
    entries: tokio::sync::Mutex<HashMap<String, Entry>>,
}

fn io_err(adapter: &str, path: &Path, e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Unavailable {
        adapter: adapter.to_owned(),
        detail: format!("sandbox ledger {}: {e}", path.display()),
    }
}

impl Ledger {
    /// Loads (creating) the ledger at `path`; a torn last line (crash mid-write) is skipped.
    pub fn open(adapter: &str, path: PathBuf) -> Result<Self, AdapterError> {
        let mut entries: HashMap<String, Entry> = HashMap::new();
        if path.exists() {
            let file = std::fs::File::open(&path).map_err(|e| AdapterError::Config {
                adapter: adapter.to_owned(),
                detail: format!("sandbox ledger {}: {e}", path.display()),
            })?;
            for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
                match serde_json::from_str::<Line>(&line) {
                    Ok(Line::Processed { id, entry }) => {
                        entries.insert(id, entry);
                    }
                    Ok(Line::Done { id }) => {
                        if let Some(e) = entries.get_mut(&id) {
                            e.done = true;
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        Ok(Self {
            path,
            entries: tokio::sync::Mutex::new(entries),
        })
    }

    async fn append(&self, adapter: &str, line: &Line) -> Result<(), AdapterError> {
        let mut text = serde_json::to_string(line).map_err(|e| io_err(adapter, &self.path, e))?;
        text.push('\n');
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&path)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()
        })
        .await
        .map_err(|e| io_err(adapter, &self.path, e))?;
        written.map_err(|e| io_err(adapter, &self.path, e))
    }

    /// The answer recorded for `id`, or — when there is none — runs `decide` and records
    /// its entry durably, under one lock so concurrent repeats see one outcome. Returns
    /// `(status, answer, first)`.
    pub async fn once(
        &self,
        adapter: &str,
        id: &str,
        decide: impl FnOnce() -> Entry,
    ) -> Result<(u16, String, bool), AdapterError> {
        let mut entries = self.entries.lock().await;
        if let Some(e) = entries.get(id) {
            return Ok((e.status, e.answer.clone(), false));
        }
        let entry = decide();
        self.append(
            adapter,
            &Line::Processed {
                id: id.to_owned(),
                entry: entry.clone(),
            },
        )
        .await?;
        let out = (entry.status, entry.answer.clone(), true);
        entries.insert(id.to_owned(), entry);
        Ok(out)
    }

    /// Marks the follow-up of `id` sent (or no longer due).
    pub async fn done(&self, adapter: &str, id: &str) -> Result<(), AdapterError> {
        let mut entries = self.entries.lock().await;
        if let Some(e) = entries.get_mut(id)
            && !e.done
        {
            self.append(adapter, &Line::Done { id: id.to_owned() })
                .await?;
            e.done = true;
        }
        Ok(())
    }

    /// The entry of `id`.
    pub async fn get(&self, id: &str) -> Option<Entry> {
        self.entries.lock().await.get(id).cloned()
    }

    /// Ids whose follow-up is still owed.
    pub async fn owed(&self) -> Vec<String> {
        let entries = self.entries.lock().await;
        let mut ids: Vec<String> = entries
            .iter()
            .filter(|(_, e)| e.follow_up && !e.done)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Number of distinct MessageIDs of `kind` processed (ever, across restarts).
    pub async fn count(&self, kind: &str) -> usize {
        self.entries
            .lock()
            .await
            .values()
            .filter(|e| e.kind == kind)
            .count()
    }
}
