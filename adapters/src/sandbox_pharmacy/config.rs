//! Settings of a `kind: sandbox-pharmacy` adapter.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::ConfigProblem;

/// How the sandbox pharmacy behaves, for tests and demos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Answers NewRx with Status 010 and sends RxFill after `delay_seconds`.
    Up,
    /// Answers every message with HTTP 503 and SCRIPT Error 600 (try again later), like a
    /// pharmacy that is down; nothing is processed.
    Down,
    /// Like `up`, after waiting `slow_seconds` before answering.
    Slow,
    /// Answers NewRx with SCRIPT Error 601 (receiver unable to process).
    #[serde(rename = "error-601")]
    Error601,
}

impl Mode {
    /// The mode as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Slow => "slow",
            Self::Error601 => "error-601",
        }
    }

    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Up, Self::Down, Self::Slow, Self::Error601]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Settings of the built-in sandbox pharmacy: it serves `POST /sandbox/pharmacy/script`,
/// checks each NewRx for the elements SCRIPT requires, answers Status 010 once per
/// MessageID and sends RxFill back to the gateway after `delay_seconds`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxPharmacyConfig {
    /// Its NCPDP Provider ID (7 digits): the `To` it accepts and the `From` it writes.
    /// Default `9999999` (the seeded sandbox pharmacy Organization).
    #[serde(default = "default_ncpdp_id")]
    pub ncpdp_id: String,
    /// The shared secret of the gateway ↔ sandbox exchange (HTTP Basic password both ways);
    /// use `${ENV}`. Unset: `credential_file`.
    #[serde(default)]
    pub credential: Option<String>,
    /// File holding the secret (relative paths are under `server.data_dir`), created with a
    /// random secret (mode 0600) when missing. Default `sandbox-pharmacy.secret`; point the
    /// `ncpdp` adapter's `credential_file` and `inbound_credential_file` at the same file.
    #[serde(default = "default_credential_file")]
    pub credential_file: PathBuf,
    /// Where RxFill is sent: the gateway's inbound SCRIPT URL. Default: this gateway's own
    /// `/ncpdp/script`.
    #[serde(default)]
    pub gateway_url: Option<String>,
    /// Seconds between answering a NewRx and sending its RxFill. Default 2.
    #[serde(default = "default_delay")]
    pub delay_seconds: f64,
    /// `up`, `down`, `slow` or `error-601`. Default `up`.
    #[serde(default = "default_mode")]
    pub mode: Mode,
    /// Seconds a `slow` pharmacy waits before answering. Default 15.
    #[serde(default = "default_slow")]
    pub slow_seconds: f64,
    /// Serve `POST /sandbox/pharmacy/mode` (body: a mode name) to switch the mode at
    /// runtime, for tests. Default `false`.
    #[serde(default)]
    pub admin: bool,
}

fn default_ncpdp_id() -> String {
    "9999999".into()
}

fn default_credential_file() -> PathBuf {
    PathBuf::from("sandbox-pharmacy.secret")
}

fn default_delay() -> f64 {
    2.0
}

fn default_mode() -> Mode {
    Mode::Up
}

fn default_slow() -> f64 {
    15.0
}

impl SandboxPharmacyConfig {
    /// Pure checks; key paths relative to `adapters.<name>`.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !crate::ncpdp::is_ncpdp_id(&self.ncpdp_id) {
            problems.push(ConfigProblem::new(
                "ncpdp_id",
                "an NCPDP Provider ID has 7 digits",
            ));
        }
        if self.credential.as_deref().is_some_and(|s| s.len() < 16) {
            problems.push(ConfigProblem::new(
                "credential",
                "must be at least 16 characters",
            ));
        }
        if let Some(u) = &self.gateway_url
            && !url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            problems.push(ConfigProblem::new(
                "gateway_url",
                "must be an http(s):// URL",
            ));
        }
        for (key, v) in [
            ("delay_seconds", self.delay_seconds),
            ("slow_seconds", self.slow_seconds),
        ] {
            if !(v.is_finite() && (0.0..=3600.0).contains(&v)) {
                problems.push(ConfigProblem::new(key, "must be between 0 and 3600"));
            }
        }
        problems
    }
}
