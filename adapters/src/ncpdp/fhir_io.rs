//! FHIR calls the adapter makes to its store adapter: read, search, write, and reference
//! resolution. Answers are parsed as `serde_json::Value` (never typed models).

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::interaction::parse_target;
use crate::outcome::FHIR_JSON;
use crate::{AdapterError, FhirRequest, FhirResponse, ResponseBody, SharedAdapter};

/// An answer of the store, body parsed when it is JSON (`Value::Null` otherwise).
pub(crate) struct Reply {
    /// The store's full response (headers and body as received).
    pub response: FhirResponse,
    /// The body parsed as JSON, or `Null`.
    pub json: Value,
}

/// The store adapter as the ncpdp adapter uses it.
#[derive(Clone)]
pub(crate) struct Fhir {
    /// Our adapter's name (for errors).
    pub adapter: String,
    /// The store adapter.
    pub store: SharedAdapter,
}

/// Collects a response body into memory.
pub(crate) async fn body_bytes(body: ResponseBody) -> Result<Bytes, std::io::Error> {
    match body {
        ResponseBody::Full(b) => Ok(b),
        ResponseBody::Stream(mut s) => {
            let mut out = Vec::new();
            while let Some(chunk) = s.next().await {
                out.extend_from_slice(&chunk?);
            }
            Ok(Bytes::from(out))
        }
    }
}

impl Fhir {
    /// Sends `method path?query` with `body` (JSON) to the store, answering links under
    /// `base_url`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: Vec<(String, String)>,
        body: Option<&Value>,
        headers: HeaderMap,
        base_url: &str,
    ) -> Result<Reply, AdapterError> {
        let target = parse_target(&method, path).map_err(|e| AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: format!("internal request /{path}: {}", e.message),
        })?;
        let mut request = FhirRequest::new(method, target, base_url);
        request.query = query;
        request.headers = headers;
        if let Some(b) = body {
            request.body = Bytes::from(b.to_string());
            request
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        }
        let mut response = self.store.handle(request).await?;
        let raw = body_bytes(std::mem::replace(
            &mut response.body,
            ResponseBody::Full(Bytes::new()),
        ))
        .await
        .map_err(|e| AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: format!("store answer unreadable: {e}"),
        })?;
        let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        response.body = ResponseBody::Full(raw);
        Ok(Reply { response, json })
    }

    /// `GET type/id`: the resource, or `None` when the store has none (404/410).
    ///
    /// Errors: the store failed, or answered another error status.
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
                Vec::new(),
                None,
                HeaderMap::new(),
                base_url,
            )
            .await?;
        match reply.response.status {
            s if s.is_success() => Ok(Some(reply.json)),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s => Err(self.unexpected(s, &format!("read {resource_type}"))),
        }
    }

    /// `GET type?params`: the matching resources (first page, `_count` as given).
    ///
    /// Errors: the store failed or refused the search.
    pub async fn search(
        &self,
        resource_type: &str,
        params: &[(&str, &str)],
        base_url: &str,
    ) -> Result<Vec<Value>, AdapterError> {
        let query = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let reply = self
            .call(
                Method::GET,
                resource_type,
                query,
                None,
                HeaderMap::new(),
                base_url,
            )
            .await?;
        if !reply.response.status.is_success() {
            return Err(self.unexpected(reply.response.status, &format!("search {resource_type}")));
        }
        Ok(reply.json["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["search"]["mode"].as_str().unwrap_or("match") == "match")
            .map(|e| e["resource"].clone())
            .filter(|r| r["resourceType"] == resource_type)
            .collect())
    }

    /// `PUT type/id` of `resource` (its `resourceType` and `id`), with `headers` (e.g.
    /// If-Match, Prefer).
    pub async fn put(
        &self,
        resource: &Value,
        headers: HeaderMap,
        base_url: &str,
    ) -> Result<Reply, AdapterError> {
        let rt = resource["resourceType"].as_str().unwrap_or_default();
        let id = resource["id"].as_str().unwrap_or_default();
        self.call(
            Method::PUT,
            &format!("{rt}/{id}"),
            Vec::new(),
            Some(resource),
            headers,
            base_url,
        )
        .await
    }

    /// `PUT` that must succeed: a refusal is an error (our own writes, e.g. Tasks).
    pub async fn put_ok(&self, resource: &Value, base_url: &str) -> Result<Value, AdapterError> {
        let reply = self.put(resource, HeaderMap::new(), base_url).await?;
        if reply.response.status.is_success() {
            Ok(reply.json)
        } else {
            let rt = resource["resourceType"].as_str().unwrap_or_default();
            Err(self.unexpected(reply.response.status, &format!("write {rt}")))
        }
    }

    fn unexpected(&self, status: StatusCode, what: &str) -> AdapterError {
        AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: format!("store answered {} to {what}", status.as_u16()),
        }
    }
}

/// `(type, id)` of a reference that names a resource on this server: `Type/id` or an
/// absolute URL under `base_url`. `None` for contained (`#…`), `urn:` and foreign URLs.
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
