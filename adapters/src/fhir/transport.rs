//! Transport failures of upstream calls (reqwest errors) as [`AdapterError`]s.

use std::time::Duration;

use crate::AdapterError;

/// Maps a reqwest error to an [`AdapterError`]: timeouts → `Timeout`, connection failures →
/// `Unreachable`, anything else (reset mid-answer, broken body) → `BadGateway`.
/// `timeout` is the total timeout that applied, if known.
pub(crate) fn transport_error(
    adapter: &str,
    error: &reqwest::Error,
    timeout: Option<(Duration, Duration)>,
) -> AdapterError {
    let adapter = adapter.to_owned();
    if error.is_timeout() {
        let seconds = timeout
            .map(|(connect, total)| if error.is_connect() { connect } else { total })
            .map_or(0.0, |d| d.as_secs_f64());
        AdapterError::Timeout { adapter, seconds }
    } else if error.is_connect() {
        AdapterError::Unreachable {
            adapter,
            detail: format!("cannot connect: {}", source_chain(error)),
        }
    } else {
        AdapterError::BadGateway {
            adapter,
            detail: format!("upstream answer failed: {}", source_chain(error)),
        }
    }
}

/// The error and its causes, without the URL (reqwest errors carry it, we keep ids only).
fn source_chain(error: &reqwest::Error) -> String {
    let mut out = String::new();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(c) = cause {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&c.to_string());
        cause = c.source();
    }
    if out.is_empty() {
        error.to_string()
    } else {
        out
    }
}
