//! The adapter config enum: one variant per adapter kind, tagged by `kind` in `gateway.yaml`.

use serde::Deserialize;

use crate::{AdapterError, BuildContext, SharedAdapter};

/// A problem found by [`AdapterConfig::validate`]: the key path below the adapter
/// (e.g. `base_url`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path relative to `adapters.<name>`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// One entry of `adapters:` in `gateway.yaml`, selected by its `kind` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AdapterConfig {
    /// `kind: fhir` — an upstream FHIR R4 REST server.
    Fhir(crate::fhir::FhirConfig),
    /// `kind: store` — the embedded FHIR store (SQLite or PostgreSQL).
    Store(crate::store::StoreConfig),
    /// `kind: ncpdp` — e-prescribing to pharmacies in NCPDP SCRIPT 2017071.
    Ncpdp(crate::ncpdp::NcpdpConfig),
    /// `kind: sandbox-pharmacy` — the built-in pharmacy answering NCPDP SCRIPT.
    SandboxPharmacy(crate::sandbox_pharmacy::SandboxPharmacyConfig),
    /// `kind: x12` — insurer eligibility (X12 270/271) through a clearinghouse (CAQH CORE).
    X12(crate::x12::X12Config),
    /// `kind: sandbox-payer` — the built-in payer answering eligibility from the store.
    SandboxPayer(crate::sandbox_payer::SandboxPayerConfig),
    /// `kind: hl7v2` — an HL7 v2 EHR over MLLP (SIU/ADT out, SIU/ADT/ORU/RDE in).
    Hl7v2(crate::hl7v2::Hl7v2Config),
}

impl AdapterConfig {
    /// The `kind` name as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fhir(_) => "fhir",
            Self::Store(_) => "store",
            Self::Ncpdp(_) => "ncpdp",
            Self::SandboxPharmacy(_) => "sandbox-pharmacy",
            Self::X12(_) => "x12",
            Self::SandboxPayer(_) => "sandbox-payer",
            Self::Hl7v2(_) => "hl7v2",
        }
    }

    /// Checks the settings without any I/O. Returns every problem found.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        match self {
            Self::Fhir(c) => c.validate(),
            Self::Store(c) => c.validate(),
            Self::Ncpdp(c) => c.validate(),
            Self::SandboxPharmacy(c) => c.validate(),
            Self::X12(c) => c.validate(),
            Self::SandboxPayer(c) => c.validate(),
            Self::Hl7v2(c) => c.validate(),
        }
    }

    /// The other adapters this one names in its settings, as `(key path, adapter name)`
    /// (e.g. `("store", "store")`). They must be defined earlier in `adapters:`, because
    /// adapters are built in config order; the gateway's config validation checks it.
    pub fn references(&self) -> Vec<(String, String)> {
        match self {
            Self::Fhir(_) | Self::Store(_) | Self::SandboxPharmacy(_) => Vec::new(),
            Self::Ncpdp(c) => vec![("store".into(), c.store.clone())],
            Self::X12(c) => vec![("store".into(), c.store.clone())],
            Self::SandboxPayer(c) => vec![("store".into(), c.store.clone())],
            Self::Hl7v2(c) => vec![("store".into(), c.store.clone())],
        }
    }

    /// Builds the adapter instance `name`: opens clients and pools, reads secrets.
    ///
    /// Errors: [`AdapterError::Config`] when a secret or file cannot be read, or a
    /// connection cannot be opened at all.
    pub async fn build(
        &self,
        name: &str,
        ctx: &BuildContext,
    ) -> Result<SharedAdapter, AdapterError> {
        match self {
            Self::Fhir(c) => crate::fhir::build(name, c, ctx).await,
            Self::Store(c) => crate::store::build(name, c, ctx).await,
            Self::Ncpdp(c) => crate::ncpdp::build(name, c, ctx).await,
            Self::SandboxPharmacy(c) => crate::sandbox_pharmacy::build(name, c, ctx).await,
            Self::X12(c) => crate::x12::build(name, c, ctx).await,
            Self::SandboxPayer(c) => crate::sandbox_payer::build(name, c, ctx).await,
            Self::Hl7v2(c) => crate::hl7v2::build(name, c, ctx).await,
        }
    }
}
