//! Calls from one adapter to the adapter that stores its FHIR resources (the `ncpdp`,
//! `hl7v2` and `x12` adapters keep or read what they map in an in-process store adapter):
//! read, search, write, and the reading of references to resources on this server.
//! Answers are parsed as `serde_json::Value`, never typed models.

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::interaction::parse_target;
use crate::outcome::FHIR_JSON;
use crate::{AdapterError, FhirRequest, FhirResponse, Interaction, ResponseBody, SharedAdapter};

/// An answer of the store, body parsed when it is JSON (`Value::Null` otherwise).
pub(crate) struct Reply {
    /// The store's full response (headers and body as received).
    pub response: FhirResponse,
    /// The body parsed as JSON, or `Null`.
    pub json: Value,
}

impl Reply {
    /// The store's HTTP status.
    pub fn status(&self) -> StatusCode {
        self.response.status
    }
}

/// The store adapter as another adapter calls it.
#[derive(Clone)]
pub(crate) struct StoreClient {
    /// The calling adapter's name (for errors).
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

impl StoreClient {
    /// Sends `method path?query` with `body` (JSON) and `headers` to the store, answering
    /// links under `base_url`. A `POST` of a Bundle of type `transaction` to the base is a
    /// transaction (FHIR R4 http.html §3.1.0.11), any other Bundle a batch.
    ///
    /// Errors: the store failed (its [`AdapterError`]), or its answer was unreadable.
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
            if b["resourceType"] == "Bundle" && b["type"] == "transaction" {
                request.interaction = Interaction::Transaction;
            }
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

    /// Like [`StoreClient::call`] for a `path` that may carry its query
    /// (`Patient?identifier=a|1`, percent-encoded), with no extra headers.
    ///
    /// Errors: as [`StoreClient::call`].
    pub async fn call_url(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        base_url: &str,
    ) -> Result<Reply, AdapterError> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let query = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        self.call(method, path, query, body, HeaderMap::new(), base_url)
            .await
    }

    /// `GET type/id`: the answer, or `None` without asking when `id` is not a valid FHIR
    /// id (R4 datatypes §2.24.0.1: `[A-Za-z0-9\-\.]{1,64}`).
    ///
    /// Errors: the store failed.
    pub async fn get(
        &self,
        resource_type: &str,
        id: &str,
        base_url: &str,
    ) -> Result<Option<Reply>, AdapterError> {
        if !crate::interaction::is_valid_id(id) {
            return Ok(None);
        }
        let path = format!("{resource_type}/{id}");
        self.call(
            Method::GET,
            &path,
            Vec::new(),
            None,
            HeaderMap::new(),
            base_url,
        )
        .await
        .map(Some)
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
        let Some(reply) = self.get(resource_type, id, base_url).await? else {
            return Ok(None);
        };
        match reply.status() {
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
        if !reply.status().is_success() {
            return Err(self.unexpected(reply.status(), &format!("search {resource_type}")));
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
    ///
    /// Errors: the store failed.
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
    ///
    /// Errors: the store failed or refused the write.
    pub async fn put_ok(&self, resource: &Value, base_url: &str) -> Result<Value, AdapterError> {
        let reply = self.put(resource, HeaderMap::new(), base_url).await?;
        if reply.status().is_success() {
            Ok(reply.json)
        } else {
            let rt = resource["resourceType"].as_str().unwrap_or_default();
            Err(self.unexpected(reply.status(), &format!("write {rt}")))
        }
    }

    /// Readiness of the store adapter (its [`crate::Adapter::check`]).
    ///
    /// Errors: the store is not ready.
    pub async fn check(&self) -> Result<(), AdapterError> {
        self.store.check().await
    }

    fn unexpected(&self, status: StatusCode, what: &str) -> AdapterError {
        AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: format!("store answered {} to {what}", status.as_u16()),
        }
    }
}

/// `(type, id)` of a reference that names a resource on this server: `Type/id` or an
/// absolute URL under `base_url` (a version suffix `/_history/n` is dropped). `None` for
/// contained (`#…`), `urn:` and foreign URLs (FHIR R4 references.html §2.3.0).
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
