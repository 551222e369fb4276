//! Settings of a `kind: x12` adapter (a clearinghouse or payer reached over the CAQH CORE
//! connectivity rule) and of the X12 interchange identities both eligibility kinds use.
//!
//! The password is never a literal: `password` holds the value of a `${ENV_VAR}` reference
//! (expanded by the gateway before parsing) or `password_file` names a file read when the
//! adapter is built (never in `validate`).

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::fhir::config::Secret;

/// Settings of a `kind: x12` adapter: real-time 270/271 with a clearinghouse.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X12Config {
    /// Name of the adapter (defined earlier in `adapters:`) holding the Patient, Coverage, insurer Organization and provider the 270 is built from.
    pub store: String,
    /// The clearinghouse's CAQH CORE real-time endpoint, an absolute `https://` (or `http://`) URL.
    pub endpoint: String,
    /// Envelope of the CAQH CORE Phase II connectivity rule (v2.2.0): `mime` (HTTP MIME multipart) or `soap` (SOAP 1.2 + WSDL with a WS-Security UsernameToken). Default `mime`.
    #[serde(default)]
    pub envelope: CoreEnvelope,
    /// CORE `SenderID`: our id at the clearinghouse.
    pub sender_id: String,
    /// CORE `ReceiverID`: the clearinghouse's (or payer's) id.
    pub receiver_id: String,
    /// CORE `UserName` (MIME field or WS-Security Username). Unset: none sent.
    #[serde(default)]
    pub username: Option<String>,
    /// CORE `Password`, from `${ENV_VAR}`; at most one of this and `password_file`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A file holding the password (surrounding whitespace ignored; relative paths are under `server.data_dir`).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// ISA/GS identities of the interchanges we send.
    #[serde(default)]
    pub interchange: InterchangeConfig,
    /// Seconds to wait for the TCP/TLS connection (default 5). Elapsed: 504.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: f64,
    /// Seconds to wait for the whole answer (default 30; CORE asks real-time answers within 20). Elapsed: 504.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

/// The CAQH CORE message envelope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoreEnvelope {
    /// HTTP MIME multipart (`multipart/form-data`).
    #[default]
    Mime,
    /// SOAP 1.2 with a WS-Security UsernameToken.
    Soap,
}

/// ISA/GS identities and the TRN originator of outgoing 270s (or 271s of the sandbox).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterchangeConfig {
    /// ISA05 sender id qualifier (`ZZ` mutually defined, `30` federal tax id…). Default `ZZ`.
    #[serde(default = "zz")]
    pub sender_qualifier: String,
    /// ISA06 sender id, 1–15 characters. Default `FHIRGATE`.
    #[serde(default = "fhirgate")]
    pub sender_id: String,
    /// ISA07 receiver id qualifier. Default `ZZ`.
    #[serde(default = "zz")]
    pub receiver_qualifier: String,
    /// ISA08 receiver id, 1–15 characters. Default `PAYER`.
    #[serde(default = "payer")]
    pub receiver_id: String,
    /// GS02 application sender code. Default `FHIRGATE`.
    #[serde(default = "fhirgate")]
    pub application_sender: String,
    /// GS03 application receiver code. Default `PAYER`.
    #[serde(default = "payer")]
    pub application_receiver: String,
    /// ISA15: `T` test or `P` production. Default `T`.
    #[serde(default = "test_usage")]
    pub usage: String,
    /// TRN03 originating company identifier: `1` + our federal tax id, or 10 characters assigned by the partner. Default `9FHIRGATE0`.
    #[serde(default = "originator")]
    pub trace_originator: String,
}

fn zz() -> String {
    "ZZ".into()
}
fn fhirgate() -> String {
    "FHIRGATE".into()
}
fn payer() -> String {
    "PAYER".into()
}
fn test_usage() -> String {
    "T".into()
}
fn originator() -> String {
    "9FHIRGATE0".into()
}
fn default_connect_timeout() -> f64 {
    5.0
}
fn default_timeout() -> f64 {
    30.0
}

impl Default for InterchangeConfig {
    fn default() -> Self {
        Self {
            sender_qualifier: zz(),
            sender_id: fhirgate(),
            receiver_qualifier: zz(),
            receiver_id: payer(),
            application_sender: fhirgate(),
            application_receiver: payer(),
            usage: test_usage(),
            trace_originator: originator(),
        }
    }
}

/// X12 identifier characters: letters, digits, space and a few marks (no delimiter).
fn x12_text(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" -._".contains(&b))
}

impl InterchangeConfig {
    /// Pure checks; paths are relative to the adapter (`interchange.…`).
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (key, value, max) in [
            ("sender_qualifier", &self.sender_qualifier, 2),
            ("receiver_qualifier", &self.receiver_qualifier, 2),
            ("sender_id", &self.sender_id, 15),
            ("receiver_id", &self.receiver_id, 15),
            ("application_sender", &self.application_sender, 15),
            ("application_receiver", &self.application_receiver, 15),
            ("trace_originator", &self.trace_originator, 10),
        ] {
            if value.is_empty() || value.len() > max || !x12_text(value) {
                problems.push(ConfigProblem::new(
                    format!("interchange.{key}"),
                    format!("must be 1 to {max} letters, digits, spaces or -._"),
                ));
            }
        }
        if !matches!(self.usage.as_str(), "T" | "P") {
            problems.push(ConfigProblem::new(
                "interchange.usage",
                "must be T (test) or P (production)",
            ));
        }
        problems
    }
}

impl X12Config {
    /// Pure checks of the settings (no I/O: the password file is read by `build`).
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = self.interchange.validate();
        match url::Url::parse(&self.endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => problems.push(ConfigProblem::new(
                "endpoint",
                "must be an absolute http(s) URL",
            )),
        }
        for (key, value) in [
            ("sender_id", &self.sender_id),
            ("receiver_id", &self.receiver_id),
        ] {
            if value.is_empty() {
                problems.push(ConfigProblem::new(key, "must not be empty"));
            }
        }
        if self.password.is_some() && self.password_file.is_some() {
            problems.push(ConfigProblem::new(
                "password",
                "set at most one of `password` and `password_file`",
            ));
        }
        if (self.password.is_some() || self.password_file.is_some()) && self.username.is_none() {
            problems.push(ConfigProblem::new(
                "username",
                "a password needs a username",
            ));
        }
        for (key, value) in [
            ("timeout_seconds", self.timeout_seconds),
            ("connect_timeout_seconds", self.connect_timeout_seconds),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                problems.push(ConfigProblem::new(key, "must be a number > 0"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox_payer::SandboxPayerConfig;

    fn problems<T: serde::de::DeserializeOwned>(
        v: serde_json::Value,
        validate: fn(&T) -> Vec<ConfigProblem>,
    ) -> Vec<String> {
        let config: T = serde_json::from_value(v).expect("parses");
        validate(&config).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn x12_settings_are_checked_without_io() {
        let ok = serde_json::json!({"store": "store", "endpoint": "https://ch.example.org/core", "sender_id": "S", "receiver_id": "R"});
        assert!(problems::<X12Config>(ok.clone(), X12Config::validate).is_empty());
        let mut bad = ok.clone();
        bad["endpoint"] = "ftp://x".into();
        bad["password"] = "p".into();
        bad["timeout_seconds"] = 0.into();
        bad["interchange"] = serde_json::json!({"sender_id": "MUCH-TOO-LONG-SENDER-ID", "usage": "X", "trace_originator": "a*b"});
        assert_eq!(
            problems::<X12Config>(bad, X12Config::validate),
            vec![
                "interchange.sender_id",
                "interchange.trace_originator",
                "interchange.usage",
                "endpoint",
                "username",
                "timeout_seconds"
            ]
        );
        let unknown: Result<X12Config, _> = serde_json::from_value(
            serde_json::json!({"store": "s", "endpoint": "https://x", "sender_id": "S", "receiver_id": "R", "extra": 1}),
        );
        assert!(unknown.is_err(), "unknown keys are errors");
    }

    #[test]
    fn sandbox_payer_settings_are_checked_without_io() {
        let ok = serde_json::json!({"store": "store"});
        assert!(problems::<SandboxPayerConfig>(ok, SandboxPayerConfig::validate).is_empty());
        let bad = serde_json::json!({"store": "store", "copay": "25,00", "deductible": "-1", "insurance_type": "ZZ", "organizations": []});
        assert_eq!(
            problems::<SandboxPayerConfig>(bad, SandboxPayerConfig::validate),
            vec!["copay", "deductible", "insurance_type", "organizations"]
        );
    }
}
