//! An interaction's outcome inside the store (status, body, version headers), before it
//! becomes an HTTP [`FhirResponse`] or a Bundle `entry.response`.

use bytes::Bytes;
use fhirgate_conformance::{Issue, IssueCode, Severity, operation_outcome};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

use crate::outcome::FHIR_JSON;
use crate::{FhirResponse, ResponseBody};

/// A body: nothing, a JSON value, or stored JSON text returned as is.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// No body (204, 304, `return=minimal`).
    None,
    /// A value built here (OperationOutcome, Bundle).
    Json(Value),
    /// A stored resource, already serialized.
    Raw(String),
}

/// What `Prefer: return=…` asks for (FHIR R4 §3.1.0.5.1 "Managing Return Content").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Return {
    /// `return=minimal`: no body.
    Minimal,
    /// `return=representation` (default): the resource.
    Representation,
    /// `return=OperationOutcome`.
    OperationOutcome,
}

impl Return {
    /// Reads `Prefer` (`return=minimal`, …); default representation.
    pub(crate) fn from_prefer(prefer: Option<&str>) -> Self {
        let prefer = prefer.unwrap_or("");
        if prefer.contains("return=minimal") {
            Self::Minimal
        } else if prefer.contains("return=OperationOutcome") {
            Self::OperationOutcome
        } else {
            Self::Representation
        }
    }
}

/// An interaction's outcome.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: Body,
    /// Version for `ETag: W/"n"`.
    pub version: Option<i64>,
    /// Last update in µs for `Last-Modified`, with its FHIR instant.
    pub last_modified: Option<(i64, String)>,
    /// `Type/id/_history/n` of a written resource (for `Location`).
    pub location: Option<String>,
}

impl Answer {
    /// An answer with `status` and `body` and no version headers.
    pub(crate) fn new(status: StatusCode, body: Body) -> Self {
        Self {
            status,
            body,
            version: None,
            last_modified: None,
            location: None,
        }
    }

    /// `status` with an OperationOutcome holding one error issue.
    pub(crate) fn error(status: StatusCode, code: IssueCode, message: impl Into<String>) -> Self {
        Self::new(
            status,
            Body::Json(operation_outcome(&[Issue::error(code, message)])),
        )
    }

    /// Bytes of the body as JSON text (what it adds to a Bundle entry).
    pub(crate) fn body_len(&self) -> usize {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        match &self.body {
            Body::None => 0,
            Body::Raw(s) => s.len(),
            Body::Json(v) => {
                let mut n = Count(0);
                let _ = serde_json::to_writer(&mut n, v);
                n.0
            }
        }
    }

    /// Whether the status is 2xx or 304.
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success() || self.status == StatusCode::NOT_MODIFIED
    }

    /// Applies `Prefer: return=…` to a successful write.
    pub(crate) fn with_return(mut self, ret: Return) -> Self {
        if !self.is_success() || self.location.is_none() {
            return self;
        }
        match ret {
            Return::Representation => {}
            Return::Minimal => self.body = Body::None,
            Return::OperationOutcome => {
                let msg = format!(
                    "{} {}",
                    self.status.as_u16(),
                    self.location.as_deref().unwrap_or("")
                );
                let issue = Issue {
                    severity: Severity::Information,
                    ..Issue::error(IssueCode::Informational, msg)
                };
                self.body = Body::Json(operation_outcome(&[issue]));
            }
        }
        self
    }

    /// The HTTP response, with `Location` absolute under `base_url`.
    pub(crate) fn into_response(self, base_url: &str) -> FhirResponse {
        let mut headers = HeaderMap::new();
        let mut put = |name: header::HeaderName, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        };
        if let Some(v) = self.version {
            put(header::ETAG, format!("W/\"{v}\""));
        }
        if let Some((us, _)) = &self.last_modified {
            put(header::LAST_MODIFIED, super::resource::http_date(*us));
        }
        if let Some(loc) = &self.location {
            put(header::LOCATION, format!("{base_url}/{loc}"));
        }
        let bytes = match self.body {
            Body::None => Bytes::new(),
            Body::Json(v) => Bytes::from(v.to_string()),
            Body::Raw(s) => Bytes::from(s),
        };
        if !bytes.is_empty() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        }
        FhirResponse {
            status: self.status,
            headers,
            body: ResponseBody::Full(bytes),
        }
    }
}
