//! Reads the eligibility flow makes through the store adapter named in the config (`store:`),
//! as internal requests without a caller principal: the gateway already authorized the
//! `$submit` for the patient, and these reads resolve what that request references.

use bytes::Bytes;
use futures::StreamExt;
use http::{Method, StatusCode};
use serde_json::Value;

use crate::interaction::{Interaction, Target, is_valid_id};
use crate::{AdapterError, FhirRequest, ResponseBody, SharedAdapter};

/// The store adapter as the eligibility adapters use it.
#[derive(Clone)]
pub(crate) struct StoreClient {
    /// Our adapter's name (for errors).
    pub adapter: String,
    /// The store adapter.
    pub store: SharedAdapter,
}

async fn body(body: ResponseBody) -> Result<Bytes, std::io::Error> {
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
    async fn call(
        &self,
        target: Target,
        query: Vec<(String, String)>,
        base_url: &str,
    ) -> Result<(StatusCode, Value), AdapterError> {
        let what = format!(
            "{} {}",
            target.interaction.code(),
            target.resource_type.as_deref().unwrap_or("")
        );
        let mut request = FhirRequest::new(Method::GET, target, base_url);
        request.query = query;
        let response = self.store.handle(request).await?;
        let status = response.status;
        let raw = body(response.body)
            .await
            .map_err(|e| AdapterError::BadGateway {
                adapter: self.adapter.clone(),
                detail: format!("store answer to {what} unreadable: {e}"),
            })?;
        Ok((status, serde_json::from_slice(&raw).unwrap_or(Value::Null)))
    }

    fn unexpected(&self, status: StatusCode, what: &str) -> AdapterError {
        AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: format!("store answered {status} to {what}"),
        }
    }

    /// `GET type/id`: the resource, or `None` when the store has none (404/410) or the id
    /// is malformed. Errors: the store failed or answered another error.
    pub async fn read(
        &self,
        resource_type: &str,
        id: &str,
        base_url: &str,
    ) -> Result<Option<Value>, AdapterError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let target = Target {
            interaction: Interaction::Read,
            resource_type: Some(resource_type.to_owned()),
            id: Some(id.to_owned()),
            version_id: None,
            operation: None,
        };
        match self.call(target, Vec::new(), base_url).await? {
            (s, v) if s.is_success() => Ok(Some(v)),
            (StatusCode::NOT_FOUND | StatusCode::GONE, _) => Ok(None),
            (s, _) => Err(self.unexpected(s, &format!("read {resource_type}"))),
        }
    }

    /// `GET type?params`: the matching resources of the first page.
    /// Errors: the store failed or refused the search.
    pub async fn search(
        &self,
        resource_type: &str,
        params: &[(&str, &str)],
        base_url: &str,
    ) -> Result<Vec<Value>, AdapterError> {
        let target = Target {
            interaction: Interaction::SearchType,
            resource_type: Some(resource_type.to_owned()),
            id: None,
            version_id: None,
            operation: None,
        };
        let query = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match self.call(target, query, base_url).await? {
            (s, v) if s.is_success() => Ok(v
                .get("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.pointer("/search/mode").and_then(Value::as_str) != Some("outcome"))
                .filter_map(|e| e.get("resource").cloned())
                .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(resource_type))
                .collect()),
            (s, _) => Err(self.unexpected(s, &format!("search {resource_type}"))),
        }
    }

    /// Readiness of the store.
    pub async fn check(&self) -> Result<(), AdapterError> {
        self.store.check().await
    }
}
