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

    /// The answer to a request refused from its head alone (wrong method, missing or wrong
    /// credentials), which the gateway sends before it reserves room for the body or reads
    /// any of it, so unauthenticated callers cannot hold buffered-body budget; `None` to
    /// read the body and [`Endpoint::call`], which still checks the same on its own.
    /// Default: `None` (the endpoint decides only in `call`).
    fn refuse_head(&self, head: &http::request::Parts) -> Option<http::Response<Bytes>> {
        let _ = head;
        None
    }

    /// The answer when the gateway refuses a request before calling the endpoint: 413 for
    /// a body over `server.body_limit` (RFC 9110 §15.5.14), 400 for one that could not be
    /// read, 408 for one that stopped arriving (RFC 9110 §15.5.9), 503 when the
    /// buffered-body budget has no room. `reason` says why (no message content). Plain text unless the endpoint's
    /// protocol has its own error format (SCRIPT endpoints answer a SCRIPT `Error`).
    fn refuse(&self, status: http::StatusCode, reason: &str) -> http::Response<Bytes> {
        let mut response = http::Response::new(Bytes::from(reason.to_owned()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
