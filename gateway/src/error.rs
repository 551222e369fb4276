//! The gateway's error type: every FHIR-side failure becomes a status and an OperationOutcome here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fhirgate_adapters::AdapterError;
use fhirgate_adapters::interaction::PathError;
use fhirgate_conformance::{Issue, IssueCode, operation_outcome};

/// Media type of every FHIR body fhirgate writes.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// Why the gateway refused or could not complete a FHIR request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request is malformed in a way the client can fix (400, `invalid`).
    #[error("{0}")]
    BadRequest(String),
    /// The body is not well-formed JSON (400, `structure`).
    #[error("malformed JSON at line {line}, column {column}: {detail}")]
    MalformedJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description.
        detail: String,
    },
    /// No such resource type, path or route (404, `not-found`).
    #[error("{0}")]
    NotFound(String),
    /// The request's `If-Match` does not name the version the gateway checked (412,
    /// `conflict`; FHIR R4 http.html §3.1.0.6.2, RFC 9110 §13.1.1).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The path invokes an operation (`$name`) no configured route serves (404,
    /// `not-supported`; FHIR R4 operations.html, the operations a server supports are public).
    #[error("{0}")]
    OperationNotSupported(String),
    /// The method is not defined for this path (405, `not-supported`).
    #[error("{message}")]
    MethodNotAllowed {
        /// What was asked.
        message: String,
        /// The methods the path does define, for the `Allow` header (RFC 9110 §15.5.6).
        allow: String,
    },
    /// The client accepts no format fhirgate writes (406, `not-supported`).
    #[error("{0}")]
    NotAcceptable(String),
    /// The body's media type is not one this interaction takes (415, `not-supported`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request is well-formed but cannot be carried out, e.g. a JSON Patch whose
    /// operation fails (422, `processing`; FHIR R4 http.html §3.1.0.5).
    #[error("{0}")]
    Unprocessable(String),
    /// The body is larger than `server.body_limit` (413, `too-long`).
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A batch or transaction Bundle has more entries than `server.max_bundle_entries`
    /// (413, `too-long`): refused before any entry is run.
    #[error(
        "the Bundle has {entries} entries; at most {limit} are accepted in one batch or transaction (server.max_bundle_entries)"
    )]
    TooManyEntries {
        /// Entries in the Bundle.
        entries: usize,
        /// The limit.
        limit: usize,
    },
    /// An answer the gateway must hold to check or merge is larger than
    /// `server.max_answer_bytes` (413, `too-costly`).
    #[error(
        "the answer to the Bundle exceeds the limit of {limit} bytes (server.max_answer_bytes) and is not passed on; its entries may have been processed: check before sending them again in smaller Bundles"
    )]
    AnswerTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A request body nested deeper than the response filter can read back inside an answer
    /// (400, `too-costly`: `fhirgate_conformance::depth`, attack finding MEDIUM 3).
    #[error(
        "the body nests arrays and objects more than {limit} levels deep; deeper content could not be checked against access grants when it is read back"
    )]
    TooDeep {
        /// The most levels accepted.
        limit: usize,
    },
    /// The system behind the gateway failed (502, 503 or 504).
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// No valid access token (401, `login`) or insufficient scope (403, `forbidden`); the
    /// answer carries `WWW-Authenticate` (RFC 6750 §3).
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// Over the caller's rate limit (429, `throttled`); the answer carries `Retry-After`
    /// (RFC 6585 §4, RFC 9110 §10.2.3).
    #[error("rate limit exceeded; retry in {retry_after_seconds} s")]
    Throttled {
        /// Seconds until one request is allowed again (at least 1).
        retry_after_seconds: u64,
    },
    /// The request bodies buffered at once would pass `server.max_buffered_request_bytes` and
    /// no room came free within the wait (503, `throttled`, `Retry-After`): refused before
    /// its body was read or any adapter called.
    #[error(
        "too many large request bodies are being processed at once (server.max_buffered_request_bytes: {budget_bytes} bytes); nothing was processed, retry in {retry_after_seconds} s"
    )]
    BodyBudgetExhausted {
        /// The budget in bytes.
        budget_bytes: u64,
        /// Seconds the client should wait before retrying (RFC 9110 §10.2.3).
        retry_after_seconds: u64,
    },
    /// The caller's own buffered request bodies in progress already hold its share of the
    /// budget, `server.max_buffered_request_bytes_per_client` (429, `throttled`,
    /// `Retry-After`; RFC 6585 §4: the client sent too much): refused at once, before its
    /// body was read or any adapter called.
    #[error(
        "your large request bodies in progress already hold your share of the gateway's buffer (server.max_buffered_request_bytes_per_client: {share_bytes} bytes); nothing was processed, retry in {retry_after_seconds} s"
    )]
    BodyShareExhausted {
        /// One client's share in bytes.
        share_bytes: u64,
        /// Seconds the client should wait before retrying (RFC 9110 §10.2.3).
        retry_after_seconds: u64,
    },
    /// The client stopped sending its request body, or sent it too slowly (408, `timeout`;
    /// RFC 9110 §15.5.9): the answer carries `Connection: close`, since the rest of the body
    /// is never read.
    #[error("{0}; the request was not served")]
    BodyTimeout(#[from] crate::policy::admission::BodyTimeout),
    /// The request's audit record could not be written, so its answer is withheld
    /// (503, `transient`, `Retry-After: 1`).
    #[error("the audit trail is unavailable; the request was not served")]
    AuditUnavailable,
}

impl From<PathError> for GatewayError {
    fn from(e: PathError) -> Self {
        match e.status {
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed {
                message: e.message,
                allow: String::new(),
            },
            StatusCode::BAD_REQUEST => Self::BadRequest(e.message),
            _ => Self::NotFound(e.message),
        }
    }
}

impl GatewayError {
    /// HTTP status and OperationOutcome `issue.code` for this error.
    pub fn status_and_code(&self) -> (StatusCode, IssueCode) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, IssueCode::Invalid),
            Self::MalformedJson { .. } => (StatusCode::BAD_REQUEST, IssueCode::Structure),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, IssueCode::NotFound),
            Self::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, IssueCode::Conflict),
            Self::OperationNotSupported(_) => (StatusCode::NOT_FOUND, IssueCode::NotSupported),
            Self::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, IssueCode::NotSupported)
            }
            Self::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, IssueCode::NotSupported),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, IssueCode::NotSupported)
            }
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, IssueCode::Processing),
            Self::PayloadTooLarge { .. } | Self::TooManyEntries { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, IssueCode::TooLong)
            }
            Self::AnswerTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, IssueCode::TooCostly),
            Self::TooDeep { .. } => (StatusCode::BAD_REQUEST, IssueCode::TooCostly),
            Self::Auth(crate::auth::AuthError::InsufficientScope(_)) => {
                (StatusCode::FORBIDDEN, IssueCode::Forbidden)
            }
            Self::Auth(_) => (StatusCode::UNAUTHORIZED, IssueCode::Login),
            Self::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, IssueCode::Throttled),
            Self::AuditUnavailable => (StatusCode::SERVICE_UNAVAILABLE, IssueCode::Transient),
            Self::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, IssueCode::Timeout),
            Self::BodyBudgetExhausted { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, IssueCode::Throttled)
            }
            Self::BodyShareExhausted { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, IssueCode::Throttled)
            }
            Self::Adapter(e) => (
                e.status(),
                match e {
                    AdapterError::Timeout { .. } => IssueCode::Timeout,
                    AdapterError::Unreachable { .. } | AdapterError::Unavailable { .. } => {
                        IssueCode::Transient
                    }
                    _ => IssueCode::Exception,
                },
            ),
        }
    }
}

/// A response with `status` and an OperationOutcome of one error issue.
pub fn outcome(status: StatusCode, code: IssueCode, diagnostics: impl Into<String>) -> Response {
    let body = operation_outcome(&[Issue::error(code, diagnostics)]).to_string();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Adapter(e) = &self {
            tracing::warn!(adapter = %e.adapter(), status = status.as_u16(), error = %e, "adapter failed");
            metrics::counter!("fhirgate_upstream_errors_total", "adapter" => e.adapter().to_owned())
                .increment(1);
        }
        let mut response = outcome(status, code, self.to_string());
        let retry_after = match &self {
            Self::Throttled {
                retry_after_seconds,
            }
            | Self::BodyBudgetExhausted {
                retry_after_seconds,
                ..
            }
            | Self::BodyShareExhausted {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            Self::AuditUnavailable => Some(1),
            _ => None,
        };
        if let Self::MethodNotAllowed { allow, .. } = &self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        if let Self::BodyTimeout(_) = &self {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Self::Auth(e) = &self {
            let challenge = crate::auth::error::challenge(e);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}
