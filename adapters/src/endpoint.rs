//! Non-FHIR HTTP endpoints an adapter serves on the gateway's listener (e.g. inbound NCPDP
//! SCRIPT at `/ncpdp/script`). The gateway mounts them under its observe layer (request id,
//! metrics, logs) but not under SMART authorization: each endpoint authenticates its callers
//! itself and answers in its own protocol's error format.

use bytes::Bytes;

/// One HTTP endpoint served by an adapter.
///
/// The gateway reads the whole body (at most `server.body_limit` bytes; larger answers 413)
/// and hands the request over with its method, URI and headers.
#[async_trait::async_trait]
pub trait Endpoint: Send + Sync + 'static {
    /// The absolute path it is mounted at, e.g. `/ncpdp/script`. Must start with `/`, must
    /// not be under `/fhir` and must be unique across all adapters (checked at startup).
    fn path(&self) -> &str;

    /// Answers one request. Never fails: errors are answers in the endpoint's protocol.
    async fn call(&self, request: http::Request<Bytes>) -> http::Response<Bytes>;
}
