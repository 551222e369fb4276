//! `POST /ncpdp/script`: SCRIPT 2017071 messages from pharmacies (Status, Error, Verify,
//! RxFill, RxRenewalRequest, RxChangeRequest, CancelRxResponse). Each pharmacy
//! authenticates with HTTP Basic (user = its NCPDP ID, password = its
//! `inbound_credential`); a message is processed once per MessageID (a repeat gets the
//! recorded answer and writes nothing); the answer is SCRIPT Status 010 once the writes are
//! committed, or SCRIPT Error: 900 (transaction rejected) for a message we cannot accept,
//! 600 (communication problem, try again later) when our side failed.

use std::sync::Arc;

use bytes::Bytes;
use fhirgate_mappings::ncpdp::{Header, Message, error, parse_message, status};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use super::credential::basic_credentials;
use super::state::{Core, now_rfc3339};
use crate::{AdapterError, Endpoint};
use apply::process;

mod apply;

/// The inbound endpoint of an `ncpdp` adapter.
pub(crate) struct ScriptEndpoint {
    /// Shared adapter state.
    pub core: Arc<Core>,
}

#[async_trait::async_trait]
impl Endpoint for ScriptEndpoint {
    fn path(&self) -> &str {
        "/ncpdp/script"
    }

    async fn call(&self, request: Request<Bytes>) -> Response<Bytes> {
        handle(&self.core, request).await
    }

    /// Method and credentials, checked before the gateway reads or reserves the body.
    fn refuse_head(&self, head: &http::request::Parts) -> Option<Response<Bytes>> {
        check_head(&self.core, &head.method, &head.headers)
            .err()
            .map(|r| *r)
    }

    /// A SCRIPT Error 900 (transaction rejected), like the endpoint's own refusals.
    fn refuse(&self, status: StatusCode, reason: &str) -> Response<Bytes> {
        reject(&self.core, None, "", status, reason)
    }
}

/// Why a message was not processed.
pub(super) enum Refusal {
    /// The message cannot be accepted (Error 900, HTTP 400); recorded for its MessageID.
    Rejected(String),
    /// Our side failed (Error 600, HTTP 503); not recorded, so a resend is processed.
    Failed(AdapterError),
}

impl From<AdapterError> for Refusal {
    fn from(e: AdapterError) -> Self {
        Self::Failed(e)
    }
}

fn reply(status: StatusCode, xml: String) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(xml));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    r
}

/// A header answering `m`, or (when the message could not be read) addressed to `to`.
fn answer_header(core: &Core, m: Option<&Message>, to: &str) -> Header {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match m {
        Some(m) => {
            let mut h = Header::reply_to(m, id, now_rfc3339());
            h.from_id = core.config.sender_id.clone();
            h
        }
        None => Header {
            message_id: id,
            sent_time: now_rfc3339(),
            to_ncpdp_id: to.to_owned(),
            from_id: core.config.sender_id.clone(),
            ..Header::default()
        },
    }
}

fn reject(
    core: &Core,
    m: Option<&Message>,
    to: &str,
    status: StatusCode,
    why: &str,
) -> Response<Bytes> {
    reply(status, error(&answer_header(core, m, to), "900", None, why))
}

/// The method and HTTP Basic credentials of a request: the authenticated pharmacy's NCPDP
/// ID, or the refusal (405 with `Allow: POST`, 401 with a `Basic` challenge).
fn check_head(
    core: &Core,
    method: &Method,
    headers: &http::HeaderMap,
) -> Result<String, Box<Response<Bytes>>> {
    if method != Method::POST {
        let mut r = reject(core, None, "", StatusCode::METHOD_NOT_ALLOWED, "use POST");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(Box::new(r));
    }
    let Some(pharmacy) = authenticate(core, headers) else {
        let mut r = reject(
            core,
            None,
            "",
            StatusCode::UNAUTHORIZED,
            "authentication failed: HTTP Basic with the pharmacy's NCPDP ID and credential required",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ncpdp\", charset=\"UTF-8\""),
        );
        return Err(Box::new(r));
    };
    Ok(pharmacy)
}

/// Authenticates, parses, dedupes and processes one inbound message.
async fn handle(core: &Core, request: Request<Bytes>) -> Response<Bytes> {
    let pharmacy = match check_head(core, request.method(), request.headers()) {
        Ok(pharmacy) => pharmacy,
        Err(refused) => return *refused,
    };
    let xml_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|t| t == "application/xml" || t == "text/xml" || t.ends_with("+xml"));
    if !xml_type {
        return reject(
            core,
            None,
            &pharmacy,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/xml",
        );
    }
    let m = match parse_message(request.body()) {
        Ok(m) => m,
        Err(e) => {
            return reject(
                core,
                None,
                &pharmacy,
                StatusCode::BAD_REQUEST,
                &e.to_string(),
            );
        }
    };
    if m.header.from.as_deref().is_some_and(|f| f != pharmacy) {
        return reject(
            core,
            Some(&m),
            &pharmacy,
            StatusCode::FORBIDDEN,
            "From does not name the authenticated pharmacy",
        );
    }
    let message_id = m.header.message_id.clone();
    match core.inbox.answer(&pharmacy, &message_id).await {
        Ok(Some((code, xml))) => {
            return reply(StatusCode::from_u16(code).unwrap_or(StatusCode::OK), xml);
        }
        Ok(None) => {}
        Err(e) => return unavailable(core, &m, &pharmacy, &e),
    }
    let (code, xml) = match process(core, &pharmacy, &m).await {
        Ok(()) => (
            StatusCode::OK,
            status(&answer_header(core, Some(&m), &pharmacy), "010", None),
        ),
        Err(Refusal::Rejected(why)) => {
            tracing::info!(adapter = %core.name, pharmacy = %pharmacy, message_id = %message_id, kind = m.body.name(), reason = %why, "inbound SCRIPT message rejected");
            (
                StatusCode::BAD_REQUEST,
                error(&answer_header(core, Some(&m), &pharmacy), "900", None, &why),
            )
        }
        Err(Refusal::Failed(e)) => return unavailable(core, &m, &pharmacy, &e),
    };
    match core
        .inbox
        .record(&pharmacy, &message_id, code.as_u16(), &xml)
        .await
    {
        Ok((code, xml)) => {
            tracing::info!(adapter = %core.name, pharmacy = %pharmacy, message_id = %message_id, kind = m.body.name(), status = code, "inbound SCRIPT message processed");
            reply(StatusCode::from_u16(code).unwrap_or(StatusCode::OK), xml)
        }
        Err(e) => unavailable(core, &m, &pharmacy, &e),
    }
}

fn unavailable(core: &Core, m: &Message, pharmacy: &str, e: &AdapterError) -> Response<Bytes> {
    tracing::warn!(adapter = %core.name, pharmacy = %pharmacy, message_id = %m.header.message_id, error = %e, "inbound SCRIPT message not processed");
    let h = answer_header(core, Some(m), pharmacy);
    reply(
        StatusCode::SERVICE_UNAVAILABLE,
        error(
            &h,
            "600",
            None,
            "receiver temporarily unable to process; try again later",
        ),
    )
}

/// The NCPDP ID of the pharmacy whose Basic credentials the request carries.
fn authenticate(core: &Core, headers: &http::HeaderMap) -> Option<String> {
    let (user, password) = basic_credentials(headers)?;
    let pharmacy = core.pharmacies.get(&user)?;
    let secret = pharmacy.inbound.as_ref()?;
    secret.matches(&password).then_some(user)
}
