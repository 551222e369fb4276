//! Why a policy could not be built or an audit record could not be written.

/// A policy build or audit failure. Messages never carry record contents (PHI).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The audit HMAC key could not be read or created.
    #[error("audit key {path}: {detail}")]
    AuditKey {
        /// Key file or `audit.key`.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The audit sink failed (open, append, read).
    #[error("audit sink {sink}: {detail}")]
    AuditSink {
        /// `jsonl`, `sqlite` or `postgres`.
        sink: &'static str,
        /// What went wrong (no record contents).
        detail: String,
    },
    /// The Redis URL is malformed.
    #[error("shared_state.redis.url: {0}")]
    Redis(String),
}

impl PolicyError {
    /// A sink error from any displayable cause.
    pub fn sink(sink: &'static str, e: impl std::fmt::Display) -> Self {
        Self::AuditSink {
            sink,
            detail: e.to_string(),
        }
    }
}
