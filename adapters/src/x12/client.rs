//! The real-time exchange with a clearinghouse: one HTTP POST per 270 in the configured CAQH
//! CORE envelope, the answer's envelope checked (CORE `ErrorCode`, SOAP faults, HTTP
//! status) and its X12 payload handed back.
//!
//! Failures are the gateway's 502/504: connect failure → `Unreachable` (502), timeout →
//! `Timeout` (504), an HTTP error status, a refused login, a CORE error code or a garbled
//! envelope → `BadGateway` (502) naming it. Credentials never appear in logs or errors.

use std::time::Duration;

use http::header;

use super::config::{CoreEnvelope, X12Config};
use super::core::{CoreMessage, PAYLOAD_TYPE_270, mime, soap};
use super::submit::Exchange;
use crate::AdapterError;

/// A reqwest failure as an [`AdapterError`]: timeout → 504, connect → 502 unreachable,
/// anything else (reset, broken body) → 502 bad answer. The URL is never included.
fn transport_error(
    adapter: &str,
    error: &reqwest::Error,
    timeouts: (Duration, Duration),
) -> AdapterError {
    let adapter = adapter.to_owned();
    let mut cause = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(c) = source {
        cause = if cause.is_empty() {
            c.to_string()
        } else {
            format!("{cause}: {c}")
        };
        source = c.source();
    }
    if error.is_timeout() {
        let seconds = if error.is_connect() {
            timeouts.0
        } else {
            timeouts.1
        }
        .as_secs_f64();
        AdapterError::Timeout { adapter, seconds }
    } else if error.is_connect() {
        AdapterError::Unreachable {
            adapter,
            detail: format!("cannot connect to the clearinghouse: {cause}"),
        }
    } else {
        AdapterError::BadGateway {
            adapter,
            detail: format!("the clearinghouse answer failed: {cause}"),
        }
    }
}

/// Largest answer read, in bytes (a real-time 271 is a few kilobytes).
const MAX_ANSWER_BYTES: usize = 8 << 20;

/// An HTTP client for one clearinghouse endpoint.
pub(crate) struct CoreClient {
    adapter: String,
    http: reqwest::Client,
    endpoint: String,
    envelope: CoreEnvelope,
    sender_id: String,
    receiver_id: String,
    credentials: Option<(String, String)>,
    timeouts: (Duration, Duration),
}

impl CoreClient {
    /// A client for `config`; `password` was read by `build`.
    pub fn new(
        adapter: &str,
        config: &X12Config,
        password: Option<String>,
    ) -> Result<Self, AdapterError> {
        let err = |detail: String| AdapterError::Config {
            adapter: adapter.to_owned(),
            detail,
        };
        let connect = Duration::try_from_secs_f64(config.connect_timeout_seconds)
            .map_err(|e| err(e.to_string()))?;
        let total =
            Duration::try_from_secs_f64(config.timeout_seconds).map_err(|e| err(e.to_string()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("fhirgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| err(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            adapter: adapter.to_owned(),
            http,
            endpoint: config.endpoint.clone(),
            envelope: config.envelope,
            sender_id: config.sender_id.clone(),
            receiver_id: config.receiver_id.clone(),
            credentials: config
                .username
                .clone()
                .map(|u| (u, password.unwrap_or_default())),
            timeouts: (connect, total),
        })
    }

    fn bad(&self, detail: impl Into<String>) -> AdapterError {
        AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: detail.into(),
        }
    }

    /// TCP reachability of the endpoint's host and port, for `/readyz`.
    pub async fn reachable(&self) -> Result<(), AdapterError> {
        let url = url::Url::parse(&self.endpoint).map_err(|e| self.bad(e.to_string()))?;
        let host = url.host_str().unwrap_or("").to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        match tokio::time::timeout(
            self.timeouts.0,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(AdapterError::Unreachable {
                adapter: self.adapter.clone(),
                detail: format!("clearinghouse: {e}"),
            }),
            Err(_) => Err(AdapterError::Timeout {
                adapter: self.adapter.clone(),
                seconds: self.timeouts.0.as_secs_f64(),
            }),
        }
    }
}

#[async_trait::async_trait]
impl Exchange for CoreClient {
    async fn exchange(
        &self,
        interchange: Vec<u8>,
        payload_id: &str,
    ) -> Result<Vec<u8>, AdapterError> {
        let timestamp = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let mut message = CoreMessage::real_time(
            PAYLOAD_TYPE_270,
            payload_id,
            &timestamp,
            &self.sender_id,
            &self.receiver_id,
            interchange,
        );
        let (content_type, body) = match self.envelope {
            CoreEnvelope::Mime => {
                if let Some((user, password)) = &self.credentials {
                    message.set("UserName", user);
                    message.set("Password", password);
                }
                mime::encode(
                    &message,
                    &format!("fhirgate-{}", uuid::Uuid::new_v4().simple()),
                )
            }
            CoreEnvelope::Soap => (
                soap::CONTENT_TYPE.to_owned(),
                soap::encode(
                    &message,
                    "COREEnvelopeRealTimeRequest",
                    self.credentials
                        .as_ref()
                        .map(|(u, p)| (u.as_str(), p.as_str())),
                ),
            ),
        };
        let response = self
            .http
            .post(&self.endpoint)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&self.adapter, &e, self.timeouts))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(self.bad(format!(
                "the clearinghouse answer is larger than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(&self.adapter, &e, self.timeouts))?;
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(self.bad(format!(
                "the clearinghouse answer is larger than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        let decoded = if content_type.to_ascii_lowercase().starts_with("multipart/") {
            mime::decode(&content_type, &bytes)
        } else if content_type.contains("xml") {
            soap::decode(&bytes)
        } else {
            Err(format!("unexpected Content-Type {content_type:?}"))
        };
        if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
            return Err(self.bad(format!(
                "the clearinghouse refused our credentials (HTTP {})",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            let why = decoded.err().map(|e| format!(": {e}")).unwrap_or_default();
            return Err(self.bad(format!(
                "the clearinghouse answered HTTP {}{why}",
                status.as_u16()
            )));
        }
        let message = decoded.map_err(|e| self.bad(format!("garbled CAQH CORE answer: {e}")))?;
        if let Some(code) = message
            .field("ErrorCode")
            .filter(|c| !c.is_empty() && *c != "Success")
        {
            let text = message.field("ErrorMessage").unwrap_or("");
            return Err(self.bad(format!(
                "the clearinghouse answered CORE ErrorCode {code}: {text}"
            )));
        }
        if message
            .field("PayloadID")
            .is_some_and(|id| id != payload_id)
        {
            tracing::warn!(adapter = %self.adapter, "CORE answer PayloadID differs from the request's");
        }
        if message.payload.is_empty() {
            return Err(self.bad("the CAQH CORE answer has an empty Payload"));
        }
        Ok(message.payload)
    }
}
