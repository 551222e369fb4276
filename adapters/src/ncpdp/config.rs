//! Settings of a `kind: ncpdp` adapter and their pure validation.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::outbox::{OutboxConfig, RetryConfig};

/// Settings of a `kind: ncpdp` adapter: e-prescribing to pharmacies in NCPDP SCRIPT 2017071
/// through a durable outbox, and the inbound `POST /ncpdp/script` endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NcpdpConfig {
    /// Name of the adapter (defined earlier in `adapters:`) that stores the
    /// MedicationRequests, Tasks and MedicationDispenses and resolves the references of a
    /// prescription (Patient, Practitioner, Medication, Coverage, pharmacy Organization).
    pub store: String,
    /// Our id in the `From` of outbound and the `To` of inbound SCRIPT headers (the
    /// prescriber system's id at the pharmacy network). Default `fhirgate`.
    #[serde(default = "default_sender_id")]
    pub sender_id: String,
    /// The durable outbox holding messages until pharmacies acknowledge them.
    #[serde(default)]
    pub outbox: OutboxConfig,
    /// Redelivery of messages after transient failures (unreachable pharmacy, timeout,
    /// HTTP 5xx, SCRIPT Error 600).
    #[serde(default)]
    pub retry: RetryConfig,
    /// The pharmacies prescriptions may be sent to, by NCPDP ID (`dispenseRequest.performer`
    /// must be an Organization carrying one of these ids).
    #[serde(default)]
    pub pharmacies: Vec<PharmacyConfig>,
    /// Controlled substances (DEA schedules II–V), which need EPCS signing.
    #[serde(default)]
    pub controlled_substances: ControlledConfig,
    /// Seconds one delivery attempt (HTTP POST to the pharmacy) may take. Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

/// One pharmacy the adapter exchanges SCRIPT messages with.
///
/// Authentication is HTTP Basic in both directions: outbound we send
/// `sender_id:credential`; inbound the pharmacy sends `ncpdp_id:inbound_credential`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PharmacyConfig {
    /// The pharmacy's NCPDP Provider ID (7 digits).
    pub ncpdp_id: String,
    /// Where its SCRIPT messages are POSTed: an `http(s)://` URL, or a path such as
    /// `/sandbox/pharmacy/script` served by this gateway itself (the sandbox pharmacy).
    pub endpoint: String,
    /// Password we present to the pharmacy (HTTP Basic, user `sender_id`); use `${ENV}`.
    /// Unset with no `credential_file`: no Authorization header is sent.
    #[serde(default)]
    pub credential: Option<String>,
    /// File holding that password (relative paths are under `server.data_dir`).
    #[serde(default)]
    pub credential_file: Option<PathBuf>,
    /// Password the pharmacy presents on `POST /ncpdp/script` (HTTP Basic, user = its NCPDP
    /// ID); use `${ENV}`. With neither this nor `inbound_credential_file`, its inbound
    /// messages are refused (401).
    #[serde(default)]
    pub inbound_credential: Option<String>,
    /// File holding that password (relative paths are under `server.data_dir`).
    #[serde(default)]
    pub inbound_credential_file: Option<PathBuf>,
}

/// How prescriptions of controlled substances are treated. R4 has no element for the DEA
/// schedule: a drug is controlled when an RxNorm coding of it or of an ingredient is in the
/// list, or its Medication carries the `dea-schedule` flag extension.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlledConfig {
    /// `true` when the system in front signs controlled-substance prescriptions (EPCS);
    /// `false` (default) refuses them with 422, since fhirgate does not sign.
    #[serde(default)]
    pub upstream_signs: bool,
    /// RxNorm ingredient codes (RxCUI) of scheduled drugs. Unset: the shipped list (oxycodone,
    /// hydrocodone, morphine, fentanyl, methylphenidate, amphetamine, alprazolam, lorazepam,
    /// zolpidem, tramadol, … — see `fhirgate_mappings::ncpdp::controlled`).
    #[serde(default)]
    pub rxnorm_ingredients: Option<Vec<String>>,
}

fn default_sender_id() -> String {
    "fhirgate".into()
}

fn default_timeout() -> f64 {
    10.0
}

/// Whether `id` is an NCPDP Provider ID: 7 digits.
pub(crate) fn is_ncpdp_id(id: &str) -> bool {
    id.len() == 7 && id.bytes().all(|b| b.is_ascii_digit())
}

impl NcpdpConfig {
    /// Pure checks; key paths relative to `adapters.<name>`.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.store.trim().is_empty() {
            problems.push(ConfigProblem::new("store", "name the store adapter"));
        }
        if self.sender_id.trim().is_empty() || self.sender_id.contains(':') {
            problems.push(ConfigProblem::new(
                "sender_id",
                "must be non-empty and contain no ':'",
            ));
        }
        let nested = |prefix: &str, list: Vec<ConfigProblem>| {
            list.into_iter()
                .map(|p| ConfigProblem::new(format!("{prefix}.{}", p.path), p.problem))
                .collect::<Vec<_>>()
        };
        problems.extend(nested("outbox", self.outbox.validate()));
        problems.extend(nested("retry", self.retry.validate()));
        if self.pharmacies.is_empty() {
            problems.push(ConfigProblem::new(
                "pharmacies",
                "list at least one pharmacy",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.pharmacies.iter().enumerate() {
            let at = |key: &str| format!("pharmacies[{i}].{key}");
            if !is_ncpdp_id(&p.ncpdp_id) {
                problems.push(ConfigProblem::new(
                    at("ncpdp_id"),
                    "an NCPDP Provider ID has 7 digits",
                ));
            } else if !seen.insert(p.ncpdp_id.clone()) {
                problems.push(ConfigProblem::new(at("ncpdp_id"), "listed twice"));
            }
            let endpoint_ok = if p.endpoint.starts_with('/') {
                url::Url::parse("http://localhost")
                    .and_then(|u| u.join(&p.endpoint))
                    .is_ok()
            } else {
                url::Url::parse(&p.endpoint)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            };
            if !endpoint_ok {
                problems.push(ConfigProblem::new(
                    at("endpoint"),
                    "must be an http(s):// URL or a path starting with / on this gateway",
                ));
            }
            if p.credential.is_some() && p.credential_file.is_some() {
                problems.push(ConfigProblem::new(
                    at("credential"),
                    "set credential or credential_file, not both",
                ));
            }
            if p.inbound_credential.is_some() && p.inbound_credential_file.is_some() {
                problems.push(ConfigProblem::new(
                    at("inbound_credential"),
                    "set inbound_credential or inbound_credential_file, not both",
                ));
            }
            for (key, secret) in [
                ("credential", &p.credential),
                ("inbound_credential", &p.inbound_credential),
            ] {
                if secret.as_deref().is_some_and(|s| s.len() < 16) {
                    problems.push(ConfigProblem::new(
                        at(key),
                        "must be at least 16 characters",
                    ));
                }
            }
        }
        if let Some(list) = &self.controlled_substances.rxnorm_ingredients {
            for (i, code) in list.iter().enumerate() {
                if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
                    problems.push(ConfigProblem::new(
                        format!("controlled_substances.rxnorm_ingredients[{i}]"),
                        "an RxNorm RxCUI is digits only",
                    ));
                }
            }
        }
        if !(self.timeout_seconds.is_finite() && self.timeout_seconds > 0.0) {
            problems.push(ConfigProblem::new(
                "timeout_seconds",
                "must be a positive number",
            ));
        }
        problems
    }
}
