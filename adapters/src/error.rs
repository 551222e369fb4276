//! Failures of the systems behind the gateway, each mapped to 502, 503 or 504.

use http::StatusCode;

/// A failure behind the gateway: never caused by the client's input.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The system could not be reached (connection refused, DNS, TLS): 502.
    #[error("adapter {adapter}: upstream unreachable: {detail}")]
    Unreachable {
        /// Adapter instance name.
        adapter: String,
        /// What failed, without PHI.
        detail: String,
    },
    /// The system did not answer within the configured timeout: 504.
    #[error("adapter {adapter}: upstream timed out after {seconds} s")]
    Timeout {
        /// Adapter instance name.
        adapter: String,
        /// The timeout that elapsed, in seconds.
        seconds: f64,
    },
    /// The system answered something unusable (not FHIR, broken body, auth refused): 502.
    #[error("adapter {adapter}: bad upstream answer: {detail}")]
    BadGateway {
        /// Adapter instance name.
        adapter: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The system (or its storage) is temporarily unavailable: 503.
    #[error("adapter {adapter}: unavailable: {detail}")]
    Unavailable {
        /// Adapter instance name.
        adapter: String,
        /// What failed.
        detail: String,
    },
    /// The adapter could not be built from its configuration (startup only).
    #[error("adapter {adapter}: {detail}")]
    Config {
        /// Adapter instance name.
        adapter: String,
        /// What is wrong.
        detail: String,
    },
}

impl AdapterError {
    /// The HTTP status the gateway answers for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unreachable { .. } | Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable { .. } | Self::Config { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The adapter instance that failed.
    pub fn adapter(&self) -> &str {
        match self {
            Self::Unreachable { adapter, .. }
            | Self::Timeout { adapter, .. }
            | Self::BadGateway { adapter, .. }
            | Self::Unavailable { adapter, .. }
            | Self::Config { adapter, .. } => adapter,
        }
    }
}
