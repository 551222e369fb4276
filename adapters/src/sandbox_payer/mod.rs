//! `kind: sandbox-payer` — a built-in payer for demos and tests (on in the shipped config):
//! `$submit` runs the same flow as `kind: x12` (CoverageEligibilityRequest → 270 → 271 →
//! CoverageEligibilityResponse), but the 270 goes to [`payer`] in memory instead of a
//! clearinghouse. It answers from the Coverage resources of the store (the sandbox bundle
//! gives every seeded patient one): active coverage, a copay and a deductible; AAA 75 for
//! unknown members.

pub mod config;
mod payer;

use std::sync::Arc;

pub use config::SandboxPayerConfig;

use crate::store_client::StoreClient;
use crate::x12::submit::{Exchange, Submitter};
use crate::{Adapter, AdapterError, BuildContext, FhirRequest, FhirResponse, SharedAdapter};
use payer::Payer;

/// The `sandbox-payer` adapter.
pub struct SandboxPayer {
    submitter: Submitter,
    payer: Payer,
}

#[async_trait::async_trait]
impl Exchange for Payer {
    async fn exchange(
        &self,
        interchange: Vec<u8>,
        _payload_id: &str,
    ) -> Result<Vec<u8>, AdapterError> {
        self.answer(&interchange).await
    }
}

/// Builds the adapter: resolves `store`.
///
/// Errors: [`AdapterError::Config`] when `store` names no adapter built before this one.
pub async fn build(
    name: &str,
    config: &SandboxPayerConfig,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    let store = StoreClient {
        adapter: name.to_owned(),
        store: ctx.adapter(name, &config.store)?,
    };
    Ok(Arc::new(SandboxPayer {
        submitter: Submitter {
            adapter: name.to_owned(),
            store: store.clone(),
            interchange: config.interchange.clone(),
        },
        payer: Payer {
            adapter: name.to_owned(),
            store,
            config: config.clone(),
        },
    }))
}

#[async_trait::async_trait]
impl Adapter for SandboxPayer {
    /// `CoverageEligibilityRequest/$submit` (DESIGN.md).
    fn serves_operation(&self, resource_type: Option<&str>, name: &str) -> bool {
        resource_type == Some("CoverageEligibilityRequest") && name == "submit"
    }

    fn name(&self) -> &str {
        &self.submitter.adapter
    }

    async fn handle(&self, request: FhirRequest) -> Result<FhirResponse, AdapterError> {
        self.submitter.handle(request, &self.payer).await
    }

    /// Ready when its store is.
    async fn check(&self) -> Result<(), AdapterError> {
        self.submitter.store.check().await
    }
}
