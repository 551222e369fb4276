//! Turning the upstream answer into the adapter's [`FhirResponse`]: headers through the
//! allow-list, and the body either streamed through untouched or buffered, parsed once as
//! `serde_json::Value` and its Bundle links rewritten.
//!
//! Streamed: non-JSON answers (Binary content, anything not `application/(fhir+)json`),
//! `Binary` reads, and answers of non-Bundle interactions (read, create, update…) larger
//! than `stream_threshold_bytes`. Buffered: JSON answers of the Bundle interactions
//! (search, history, batch, transaction, operations), up to `max_buffered_bytes`, and small
//! JSON answers of the others. Bodies without a Bundle link to rewrite — OperationOutcomes
//! included — are forwarded byte for byte.

use std::time::Duration;

use bytes::Bytes;
use fhirgate_conformance::IssueCode;
use futures::{StreamExt, TryStreamExt, stream};
use http::{StatusCode, header};

use super::bundle::{rewrite_links, rewrite_links_in_text};
use super::headers::response_headers;
use super::rewrite::Base;
use super::transport::transport_error;
use crate::{AdapterError, FhirRequest, FhirResponse, Interaction, ResponseBody};

/// Body size limits and timeouts that apply to an answer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Non-Bundle answers larger than this stream through (bytes).
    pub stream_threshold: u64,
    /// Largest Bundle answer buffered (bytes); larger ones are a 502.
    pub max_buffered: u64,
    /// Largest batch- or transaction-response buffered (bytes, `server.max_answer_bytes`);
    /// a larger one answers 413 `too-costly`.
    pub max_answer: u64,
    /// Connect and total timeouts, for error messages.
    pub timeouts: (Duration, Duration),
}

/// Whether `interaction` answers with a Bundle whose links must be rewritten.
fn answers_bundle(interaction: Interaction) -> bool {
    matches!(
        interaction,
        Interaction::SearchType
            | Interaction::SearchSystem
            | Interaction::HistoryInstance
            | Interaction::HistoryType
            | Interaction::HistorySystem
            | Interaction::Batch
            | Interaction::Transaction
            | Interaction::Operation
    )
}

/// Whether the media type is JSON (`application/json`, `application/fhir+json`, `*/*+json`).
fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn stream_body(head: Vec<Bytes>, response: reqwest::Response) -> ResponseBody {
    let rest = response.bytes_stream().map_err(std::io::Error::other);
    ResponseBody::Stream(stream::iter(head.into_iter().map(Ok)).chain(rest).boxed())
}

/// The adapter's answer for the upstream `response` to `request`.
///
/// Errors: a Bundle answer above `max_buffered` or a body that breaks off → `BadGateway`;
/// the total timeout elapsing while reading → `Timeout`.
pub async fn answer(
    adapter: &str,
    request: &FhirRequest,
    mut response: reqwest::Response,
    upstream: &Base,
    public: Option<&Base>,
    limits: &Limits,
) -> Result<FhirResponse, AdapterError> {
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let binary_read = request.resource_type.as_deref() == Some("Binary")
        && matches!(request.interaction, Interaction::Read | Interaction::Vread);
    if !is_json(content_type) || binary_read {
        let headers = response_headers(response.headers(), true, upstream, public);
        return Ok(FhirResponse {
            status,
            headers,
            body: stream_body(Vec::new(), response),
        });
    }
    let bundle = answers_bundle(request.interaction);
    let batch = matches!(
        request.interaction,
        Interaction::Batch | Interaction::Transaction
    );
    let limit = if batch {
        limits.max_buffered.min(limits.max_answer)
    } else if bundle {
        limits.max_buffered
    } else {
        limits.stream_threshold
    };
    let too_large = || AdapterError::BadGateway {
        adapter: adapter.to_owned(),
        detail: format!("upstream Bundle larger than max_buffered_bytes ({limit})"),
    };
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total: u64 = 0;
    let mut over = response.content_length().is_some_and(|n| n > limit);
    while !over {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                chunks.push(chunk);
                over = total > limit;
            }
            Ok(None) => break,
            Err(e) => return Err(transport_error(adapter, &e, Some(limits.timeouts))),
        }
    }
    if over {
        if batch && limits.max_answer <= limits.max_buffered {
            tracing::warn!(adapter = %adapter, limit, "upstream batch-response over server.max_answer_bytes");
            return Ok(crate::outcome::error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                IssueCode::TooCostly,
                format!(
                    "the upstream's answer exceeds the limit of {limit} bytes \
                     (server.max_answer_bytes) and is not passed on; the upstream may have \
                     processed the Bundle: check before sending it again with fewer entries"
                ),
            ));
        }
        if bundle {
            return Err(too_large());
        }
        let headers = response_headers(response.headers(), true, upstream, public);
        return Ok(FhirResponse {
            status,
            headers,
            body: stream_body(chunks, response),
        });
    }
    let headers = response_headers(response.headers(), false, upstream, public);
    let original = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => Bytes::from(chunks.concat()),
    };
    let body = match public {
        Some(public) if !original.is_empty() => rewrite_body(adapter, original, upstream, public),
        _ => original,
    };
    Ok(FhirResponse {
        status,
        headers,
        body: ResponseBody::Full(body),
    })
}

/// `original` with its Bundle links rewritten, or unchanged (byte for byte) when it holds
/// none or is not valid JSON (passed on as the upstream sent it). The text path replaces
/// only the link strings without building a tree; bodies it declines go through
/// `serde_json::Value`.
fn rewrite_body(adapter: &str, original: Bytes, upstream: &Base, public: &Base) -> Bytes {
    match rewrite_links_in_text(&original, upstream, public) {
        Ok(Some(text)) => return Bytes::from(text),
        Ok(None) => return original,
        Err(_) => {}
    }
    let mut value: serde_json::Value = match serde_json::from_slice(&original) {
        Ok(v) => v,
        Err(_) => {
            tracing::warn!(adapter = %adapter, "upstream JSON answer does not parse; passed on unchanged");
            return original;
        }
    };
    if !rewrite_links(&mut value, upstream, public) {
        return original;
    }
    match serde_json::to_vec(&value) {
        Ok(v) => Bytes::from(v),
        Err(_) => original,
    }
}
