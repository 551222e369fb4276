//! The request and response shapes the gateway and adapters exchange for one interaction.

use bytes::Bytes;
use futures::stream::BoxStream;
use http::{HeaderMap, Method, StatusCode};

use super::{Interaction, Target, Visibility};

/// The identity the gateway validated for this request (SMART App Launch 2.x), passed to
/// adapters so they can audit and attribute writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// OAuth2 client (`client_id`, else `azp`, else `sub`).
    pub client_id: String,
    /// `fhirUser` claim, e.g. `Practitioner/123`.
    pub fhir_user: Option<String>,
    /// Patient launch context (`patient` claim).
    pub patient: Option<String>,
    /// Granted scopes, as granted.
    pub scopes: Vec<String>,
}

/// One FHIR interaction as the gateway hands it to an adapter.
#[derive(Debug, Clone)]
pub struct FhirRequest {
    /// HTTP method as received.
    pub method: Method,
    /// What the request does.
    pub interaction: Interaction,
    /// Resource type from the path, if any.
    pub resource_type: Option<String>,
    /// Logical id from the path, if any.
    pub id: Option<String>,
    /// Version id (vread).
    pub version_id: Option<String>,
    /// Operation name without `$`.
    pub operation: Option<String>,
    /// Decoded query (and, for `POST _search`, form body) parameters, in order.
    pub query: Vec<(String, String)>,
    /// The query string exactly as received, forwarded verbatim when `Some`. The gateway
    /// sets it to `None` whenever it changes `query`, and adapters then encode `query`.
    pub raw_query: Option<String>,
    /// The FHIR request headers (Accept, Content-Type, If-Match, If-None-Match,
    /// If-None-Exist, If-Modified-Since, Prefer) and nothing else.
    pub headers: HeaderMap,
    /// Request body (resource, Bundle, JSON Patch or Parameters), possibly empty.
    pub body: Bytes,
    /// Public base URL of the gateway's FHIR API, no trailing slash, e.g.
    /// `http://127.0.0.1:8080/fhir`. Links and `Location` headers in answers use it.
    pub base_url: String,
    /// The request id (also in `X-Request-Id`), for logs.
    pub request_id: String,
    /// The validated caller, when the gateway authenticated one.
    pub principal: Option<Principal>,
    /// The client's IP address as the gateway saw it (for `X-Forwarded-For`).
    pub client_ip: Option<std::net::IpAddr>,
    /// For a search by a caller who may see only some of the matches: which ones. An
    /// adapter able to test matches pages over the visible ones only ([`Visibility`]);
    /// others ignore it (the gateway filters their answer).
    pub visibility: Option<Visibility>,
}

impl FhirRequest {
    /// A request for `target` with no query, headers or body, answering links under
    /// `base_url`. Used by the gateway, by Bundle processing and by tests.
    pub fn new(method: Method, target: Target, base_url: impl Into<String>) -> Self {
        Self {
            method,
            interaction: target.interaction,
            resource_type: target.resource_type,
            id: target.id,
            version_id: target.version_id,
            operation: target.operation,
            query: Vec::new(),
            raw_query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            base_url: base_url.into(),
            request_id: String::new(),
            principal: None,
            client_ip: None,
            visibility: None,
        }
    }

    /// The path of this request relative to the FHIR base, e.g. `Patient/1/_history/2`,
    /// `Observation/_search` is rendered as `Observation` (the query carries the search).
    pub fn relative_path(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(rt) = &self.resource_type {
            parts.push(rt.clone());
        }
        if let Some(id) = &self.id {
            parts.push(id.clone());
        }
        match self.interaction {
            Interaction::Vread => {
                parts.push("_history".into());
                parts.extend(self.version_id.clone());
            }
            Interaction::HistoryInstance
            | Interaction::HistoryType
            | Interaction::HistorySystem => parts.push("_history".into()),
            Interaction::Capabilities => parts.push("metadata".into()),
            Interaction::Operation => {
                parts.extend(self.operation.as_ref().map(|o| format!("${o}")))
            }
            _ => {}
        }
        parts.join("/")
    }

    /// The first value of query parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response body: either in memory or streamed (large Binary payloads).
pub enum ResponseBody {
    /// The whole body.
    Full(Bytes),
    /// A stream of chunks; errors end the response early.
    Stream(BoxStream<'static, Result<Bytes, std::io::Error>>),
}

/// Why [`ResponseBody::collect`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectError {
    /// A chunk of the stream failed.
    Read,
    /// The body is longer than the limit.
    TooLarge,
}

impl ResponseBody {
    /// The whole body: a full one as it is, a stream read to its end (at most `limit`
    /// bytes, which bounds what a stream can make us buffer).
    pub async fn collect(self, limit: usize) -> Result<Bytes, CollectError> {
        use futures::StreamExt;
        match self {
            Self::Full(b) => Ok(b),
            Self::Stream(mut stream) => {
                let mut buf = Vec::new();
                while let Some(chunk) = stream.next().await {
                    buf.extend_from_slice(&chunk.map_err(|_| CollectError::Read)?);
                    if buf.len() > limit {
                        return Err(CollectError::TooLarge);
                    }
                }
                Ok(Bytes::from(buf))
            }
        }
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full(b) => write!(f, "Full({} bytes)", b.len()),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// An adapter's answer.
#[derive(Debug)]
pub struct FhirResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers (Content-Type, ETag, Last-Modified, Location…).
    pub headers: HeaderMap,
    /// Body.
    pub body: ResponseBody,
}
