//! `audit:` — where the AuditEvent trail is written, its HMAC key and what happens when
//! it cannot be written.

use std::path::PathBuf;

use serde::Deserialize;

/// Where records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// JSON lines in `audit.path` (default `data_dir/audit/audit.jsonl`).
    Jsonl,
    /// A SQLite table (`audit.url`, default `sqlite://audit.db` in the data dir).
    Sqlite,
    /// A PostgreSQL table (`audit.url`, else `shared_state.postgres.url`); replicas share it.
    Postgres,
}

/// When an answer may leave, relative to its audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Release {
    /// Once the record is stored (written, and fsynced with `fsync: true`): nothing is
    /// served unaudited. The default.
    #[default]
    Stored,
    /// As soon as the record is in the writer's queue. The answer does not wait for the
    /// disk (the record is still written, chained and fsynced in the next batch), but the
    /// records still queued when the process dies — at most `audit.queue` — are lost. The
    /// trade PostgreSQL makes with `synchronous_commit = off`; IHE ATNA syslog transport
    /// (RFC 5425) is asynchronous the same way.
    Queued,
}

/// The `audit` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `jsonl` (default), `sqlite` or `postgres`.
    pub sink: SinkKind,
    /// JSON-lines file (relative paths under `server.data_dir`). Default `audit/audit.jsonl`.
    pub path: PathBuf,
    /// Chain-head checkpoint file for the `jsonl` sink (count + last MAC, signed), kept
    /// apart from the log. Default `audit/audit.head`.
    pub checkpoint: PathBuf,
    /// Database URL for `sqlite`/`postgres` (`sqlite://FILE` relative to the data dir).
    pub url: Option<String>,
    /// Table for `sqlite`/`postgres` (`name` or `schema.name`); the checkpoint lives in
    /// `<table>_head`. Default `audit_event`.
    pub table: String,
    /// The HMAC-SHA256 key as text (at least 32 characters), normally `${FHIRGATE_AUDIT_KEY}`.
    pub key: Option<String>,
    /// A file holding the key. Neither `key` nor `key_file`: `audit.key` in the data dir,
    /// generated (mode 0600) on first start — fine for the embedded demo; in production keep
    /// the key away from the log's host or volume (a secret store, `${ENV}`).
    pub key_file: Option<PathBuf>,
    /// Records waiting to be written at most; a full queue answers 503. Default 1024.
    pub queue: usize,
    /// Milliseconds a request waits for its record to be written. Default 5000.
    pub write_timeout_ms: u64,
    /// fsync the JSON-lines file after each batch (durable on power loss). Default true.
    pub fsync: bool,
    /// When an answer leaves: `stored` (default: after its record is stored) or `queued`
    /// (once the record is queued; a crash loses the queued records).
    pub release: Release,
    /// Serve requests whose record could not be written (logged and counted in
    /// `fhirgate_audit_failures_total`) instead of answering 503. Default false.
    pub fail_open: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            sink: SinkKind::Jsonl,
            path: PathBuf::from("audit/audit.jsonl"),
            checkpoint: PathBuf::from("audit/audit.head"),
            url: None,
            table: "audit_event".into(),
            key: None,
            key_file: None,
            queue: 1024,
            write_timeout_ms: 5000,
            fsync: true,
            release: Release::Stored,
            fail_open: false,
        }
    }
}

impl AuditConfig {
    /// Pure checks; `(key.path, problem)` pairs. `shared_postgres` is whether
    /// `shared_state.postgres` is set.
    pub fn validate(&self, shared_postgres: bool) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.queue == 0 {
            problems.push(("audit.queue".into(), "must be at least 1".into()));
        }
        if self.write_timeout_ms == 0 {
            problems.push(("audit.write_timeout_ms".into(), "must be at least 1".into()));
        }
        if self.key.as_ref().is_some_and(|k| k.len() < 32) {
            problems.push(("audit.key".into(), "must be at least 32 characters".into()));
        }
        if self.key.is_some() && self.key_file.is_some() {
            problems.push(("audit.key_file".into(), "set either key or key_file".into()));
        }
        let valid_table = !self.table.is_empty()
            && self.table.split('.').count() <= 2
            && self.table.split('.').all(|p| {
                p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if !valid_table {
            problems.push((
                "audit.table".into(),
                "must be `name` or `schema.name` of [a-z0-9_]".into(),
            ));
        }
        match (self.sink, self.url.as_deref()) {
            (SinkKind::Postgres, None) if !shared_postgres => problems.push((
                "audit.url".into(),
                "sink postgres needs audit.url or shared_state.postgres".into(),
            )),
            (SinkKind::Postgres, Some(u)) if !u.starts_with("postgres") => {
                problems.push(("audit.url".into(), "must be a postgres:// URL".into()));
            }
            (SinkKind::Sqlite, Some(u)) if !u.starts_with("sqlite:") => {
                problems.push(("audit.url".into(), "must be a sqlite:// URL".into()));
            }
            _ => {}
        }
        problems
    }
}
