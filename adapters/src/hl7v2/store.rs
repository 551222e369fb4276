//! The adapter's shared state and the FHIR calls it makes to its store adapter.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method, header};
use serde_json::Value;

use super::config::Hl7v2Config;
use crate::interaction::parse_target;
use crate::outbox::{Inbox, Outbox};
use crate::outcome::FHIR_JSON;
use crate::{AdapterError, ChangeFeed, FhirRequest, FhirResponse, ResponseBody, SharedAdapter};

/// Everything the adapter's request handler, dispatcher and listener share.
pub(crate) struct Core {
    /// Adapter name.
    pub name: String,
    /// Its settings.
    pub config: Hl7v2Config,
    /// The store adapter.
    pub store: SharedAdapter,
    /// Outbound messages until ACKed.
    pub outbox: Arc<Outbox>,
    /// Inbound control ids and their ACKs.
    pub inbox: Inbox,
    /// Where inbound writes are announced.
    pub changes: ChangeFeed,
    /// Inbound mapping settings.
    pub mapping: fhirgate_mappings::hl7v2::Context,
    /// Outbound mapping settings.
    pub write: fhirgate_mappings::hl7v2::WriteOptions,
}

/// A store answer with its body read and parsed (`Null` when not JSON).
pub(crate) struct Reply {
    /// HTTP status.
    pub status: http::StatusCode,
    /// The body as JSON.
    pub json: Value,
}

impl Core {
    /// Sends `method path` with `body` to the store adapter; `path` may carry a query
    /// (`Patient?identifier=a|1`, percent-encoded).
    ///
    /// Errors: the store failed (its [`AdapterError`]), or its answer was unreadable.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        base_url: &str,
    ) -> Result<Reply, AdapterError> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let target = parse_target(&method, path).map_err(|e| AdapterError::BadGateway {
            adapter: self.name.clone(),
            detail: format!("internal request /{path}: {}", e.message),
        })?;
        let mut request = FhirRequest::new(method, target, base_url);
        request.query = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if let Some(b) = body {
            if b["resourceType"] == "Bundle" && b["type"] == "transaction" {
                request.interaction = crate::Interaction::Transaction;
            }
            request.body = Bytes::from(b.to_string());
            request
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        }
        let response: FhirResponse = self.store.handle(request).await?;
        let raw = match response.body {
            ResponseBody::Full(b) => b.to_vec(),
            ResponseBody::Stream(mut s) => {
                let mut out = Vec::new();
                while let Some(chunk) = s.next().await {
                    out.extend_from_slice(&chunk.map_err(|e| AdapterError::BadGateway {
                        adapter: self.name.clone(),
                        detail: format!("store answer unreadable: {e}"),
                    })?);
                }
                out
            }
        };
        Ok(Reply {
            status: response.status,
            json: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        })
    }

    /// `GET type/id` from the store: the resource, or `None` when it answers otherwise.
    ///
    /// Errors: the store failed.
    pub async fn read(
        &self,
        resource_type: &str,
        id: &str,
        base_url: &str,
    ) -> Result<Option<Value>, AdapterError> {
        if !crate::interaction::is_valid_id(id) {
            return Ok(None);
        }
        let reply = self
            .call(
                Method::GET,
                &format!("{resource_type}/{id}"),
                None,
                base_url,
            )
            .await?;
        Ok(reply.status.is_success().then_some(reply.json))
    }
}

/// `(type, id)` of a reference to a resource on this server: `Type/id` or an absolute URL
/// under `base_url`. `None` for contained, `urn:` and foreign references.
pub(crate) fn local_target(reference: &str, base_url: &str) -> Option<(String, String)> {
    let rel = match reference.strip_prefix(base_url) {
        Some(rest) => rest.strip_prefix('/')?,
        None if reference.contains("://") || reference.starts_with("urn:") => return None,
        None => reference,
    };
    let rel = rel.split("/_history/").next().unwrap_or(rel);
    let (rt, id) = rel.split_once('/')?;
    (crate::interaction::is_resource_type(rt) && crate::interaction::is_valid_id(id))
        .then(|| (rt.to_owned(), id.to_owned()))
}
