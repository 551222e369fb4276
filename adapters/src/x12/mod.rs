//! `kind: x12` — insurer eligibility through a clearinghouse: `$submit` on
//! CoverageEligibilityRequest becomes a real-time X12 270 (005010X279A1) in a CAQH CORE
//! Phase II envelope, the 271 comes back as a CoverageEligibilityResponse.
//!
//! - [`config`]: the settings (endpoint, envelope, credentials, interchange identities).
//! - [`core`]: the CORE envelope, HTTP MIME multipart or SOAP.
//! - `client`: the HTTP exchange and its 502/504 failures.
//! - `submit`: the `$submit` flow both eligibility kinds share (store reads, 270, 271).

mod client;
pub mod config;
pub mod core;
pub(crate) mod submit;

use std::sync::Arc;

pub use config::{CoreEnvelope, InterchangeConfig, X12Config};

use crate::store_client::StoreClient;
use crate::{Adapter, AdapterError, BuildContext, FhirRequest, FhirResponse, SharedAdapter};
use client::CoreClient;
use submit::Submitter;

/// The `x12` adapter.
pub struct X12Adapter {
    submitter: Submitter,
    client: CoreClient,
}

/// Reads the password (from `password` or `password_file`, relative to the data dir).
fn password(
    name: &str,
    config: &X12Config,
    ctx: &BuildContext,
) -> Result<Option<String>, AdapterError> {
    if let Some(p) = &config.password {
        return Ok(Some(p.0.clone()));
    }
    let Some(file) = &config.password_file else {
        return Ok(None);
    };
    let path = if file.is_absolute() {
        file.clone()
    } else {
        ctx.data_dir.join(file)
    };
    std::fs::read_to_string(&path)
        .map(|s| Some(s.trim().to_owned()))
        .map_err(|e| AdapterError::Config {
            adapter: name.to_owned(),
            detail: format!("password_file {}: {e}", path.display()),
        })
}

/// Builds the adapter: resolves `store`, reads the password, builds the HTTP client.
///
/// Errors: [`AdapterError::Config`] for an unknown store adapter or an unreadable password file.
pub async fn build(
    name: &str,
    config: &X12Config,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    let store = ctx.adapter(name, &config.store)?;
    let client = CoreClient::new(name, config, password(name, config, ctx)?)?;
    Ok(Arc::new(X12Adapter {
        submitter: Submitter {
            adapter: name.to_owned(),
            store: StoreClient {
                adapter: name.to_owned(),
                store,
            },
            interchange: config.interchange.clone(),
        },
        client,
    }))
}

#[async_trait::async_trait]
impl Adapter for X12Adapter {
    /// `CoverageEligibilityRequest/$submit` (DESIGN.md).
    fn serves_operation(&self, resource_type: Option<&str>, name: &str) -> bool {
        resource_type == Some("CoverageEligibilityRequest") && name == "submit"
    }

    fn name(&self) -> &str {
        &self.submitter.adapter
    }

    async fn handle(&self, request: FhirRequest) -> Result<FhirResponse, AdapterError> {
        self.submitter.handle(request, &self.client).await
    }

    /// Ready when the store is and the clearinghouse's host accepts a TCP connection.
    async fn check(&self) -> Result<(), AdapterError> {
        self.submitter.store.check().await?;
        self.client.reachable().await
    }
}
