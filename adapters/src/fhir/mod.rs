//! `kind: fhir` — forwards interactions to an upstream FHIR R4 REST server.
//!
//! - [`config`]: the settings, validated without I/O.
//! - [`client`]: the adapter; builds the upstream request (URL, query, allow-listed headers,
//!   OAuth2 token) and maps transport failures to 502/504.
//! - [`response`]: streams or buffers the answer; [`bundle`] rewrites Bundle links in one
//!   pass over `serde_json::Value`; [`rewrite`] is the pure URL rewriting both use.
//! - [`headers`]: the request and response header allow-lists.
//! - [`auth`]: OAuth2 client credentials (`client_secret_basic`, `private_key_jwt`).

pub mod auth;
pub mod bundle;
pub mod client;
pub mod config;
pub mod headers;
pub mod response;
pub mod rewrite;
mod transport;

use std::sync::Arc;

pub use client::FhirAdapter;
pub use config::{FhirConfig, UpstreamAuth};

use crate::{AdapterError, BuildContext, SharedAdapter};

/// Builds the adapter `name` from `config`: opens the HTTP client and reads the secret or
/// private key (files or values). Errors: [`AdapterError::Config`].
pub async fn build(
    name: &str,
    config: &FhirConfig,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    Ok(Arc::new(
        FhirAdapter::new(name, config)?.with_answer_limit(ctx.max_answer_bytes),
    ))
}
