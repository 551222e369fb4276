//! `POST /ncpdp/script`: SCRIPT 2017071 messages from pharmacies (Status, Error, Verify,
//! RxFill, RxRenewalRequest, RxChangeRequest, CancelRxResponse). Each pharmacy
//! authenticates with HTTP Basic (user = its NCPDP ID, password = its
//! `inbound_credential`); a message is processed once per MessageID (a repeat gets the
//! recorded answer and writes nothing); the answer is SCRIPT Status 010 once the writes are
//! committed, or SCRIPT Error: 900 (transaction rejected) for a message we cannot accept,
//! 600 (communication problem, try again later) when our side failed.

use std::sync::Arc;

use bytes::Bytes;
use fhirgate_mappings::ncpdp::{
    Body, Header, InboundContext, Message, error, message_to_fhir, parse_message, status,
    task_update,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::Value;

use super::context::{CANCEL_RX, Context, NEW_RX, dedupe_key};
use super::credential::basic_credentials;
use super::state::{Core, now_rfc3339};
use super::task;
use crate::{AdapterError, Endpoint};

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
enum Refusal {
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

/// The outbox message `m` answers, if it was sent to `pharmacy`.
async fn answered(
    core: &Core,
    pharmacy: &str,
    m: &Message,
) -> Result<Option<crate::outbox::Message>, AdapterError> {
    let Some(relates) = m.header.relates_to_message_id.as_deref() else {
        return Ok(None);
    };
    Ok(core
        .outbox
        .find_by_message_id(relates)
        .await?
        .filter(|row| row.destination == pharmacy))
}

/// The id of the MedicationRequest `m` is about: through `RelatesToMessageID` (a message we
/// sent) or `PrescriberOrderNumber` (our MedicationRequest id), only for prescriptions sent
/// to `pharmacy`.
async fn related_request(
    core: &Core,
    pharmacy: &str,
    m: &Message,
) -> Result<Option<String>, AdapterError> {
    if let Some(row) = answered(core, pharmacy, m).await?
        && let Some(ctx) = Context::parse(&row.context)
    {
        return Ok(Some(ctx.medication_request_id().to_owned()));
    }
    let Some(pon) = m.header.prescriber_order_number.as_deref() else {
        return Ok(None);
    };
    Ok(core
        .outbox
        .get(&dedupe_key(NEW_RX, pon))
        .await?
        .filter(|row| row.destination == pharmacy)
        .map(|_| pon.to_owned()))
}

async fn process(core: &Core, pharmacy: &str, m: &Message) -> Result<(), Refusal> {
    match &m.body {
        Body::Status(_) | Body::Error(_) | Body::Verify(_) => {
            let row = answered(core, pharmacy, m).await?.ok_or_else(|| {
                Refusal::Rejected(
                    "RelatesToMessageID names no message sent to this pharmacy".into(),
                )
            })?;
            let ctx = Context::parse(&row.context)
                .ok_or_else(|| Refusal::Rejected("unknown message".into()))?;
            apply_update(core, ctx.task_id(), m).await
        }
        Body::CancelRxResponse(_) => {
            let row = answered(core, pharmacy, m)
                .await?
                .filter(|r| r.kind == CANCEL_RX)
                .ok_or_else(|| {
                    Refusal::Rejected(
                        "RelatesToMessageID names no CancelRx sent to this pharmacy".into(),
                    )
                })?;
            let ctx = Context::parse(&row.context)
                .ok_or_else(|| Refusal::Rejected("unknown message".into()))?;
            let approved = task_update(m).is_some_and(|u| u.status == "cancelled");
            let business = task_update(m).map(|u| u.business_status);
            task::update(
                core,
                ctx.task_id(),
                if approved { "completed" } else { "rejected" },
                business,
                None,
            )
            .await?;
            if let Some(fulfill) = &ctx.fulfill_task {
                apply_update(core, fulfill, m).await?;
            }
            Ok(())
        }
        Body::RxFill(_) | Body::RxRenewalRequest(_) | Body::RxChangeRequest(_) => {
            let id = related_request(core, pharmacy, m).await?.ok_or_else(|| {
                Refusal::Rejected(
                    "no prescription sent to this pharmacy matches RelatesToMessageID or PrescriberOrderNumber".into(),
                )
            })?;
            write_resources(core, &id, m).await?;
            if matches!(m.body, Body::RxFill(_))
                && let Some(row) = core.outbox.get(&dedupe_key(NEW_RX, &id)).await?
                && let Some(ctx) = Context::parse(&row.context)
            {
                apply_update(core, ctx.task_id(), m).await?;
            }
            Ok(())
        }
        other => Err(Refusal::Rejected(format!(
            "{} is sent to pharmacies, not accepted from them",
            other.name()
        ))),
    }
}

/// Applies [`task_update`] of `m` to Task `id`.
async fn apply_update(core: &Core, id: &str, m: &Message) -> Result<(), Refusal> {
    let Some(u) = task_update(m) else {
        return Ok(());
    };
    let reason = match &m.body {
        Body::Error(_) => u.business_status["text"].as_str().map(str::to_owned),
        _ => None,
    };
    task::update(
        core,
        id,
        u.status,
        Some(u.business_status),
        reason.as_deref(),
    )
    .await?;
    Ok(())
}

/// Maps `m` to FHIR in the context of MedicationRequest `id` and writes every resource
/// (ids derive from the MessageID, so a reprocessed message rewrites the same resources).
async fn write_resources(core: &Core, id: &str, m: &Message) -> Result<(), Refusal> {
    let base = core.internal_base();
    let mr = core
        .fhir
        .read("MedicationRequest", id, &base)
        .await?
        .ok_or_else(|| Refusal::Rejected("the prescription no longer exists".into()))?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let ctx = InboundContext {
        medication_request: Some(format!("MedicationRequest/{id}")),
        patient: text(&mr["subject"]["reference"]),
        prescriber: text(&mr["requester"]["reference"]),
    };
    let mut resources = message_to_fhir(m, &ctx).map_err(|e| Refusal::Rejected(e.to_string()))?;
    // The pharmacy is the prescription's performer Organization already in the store:
    // reference it instead of storing a copy built from the message.
    if let Some(performer) = mr["dispenseRequest"]["performer"]["reference"].as_str() {
        let copies: Vec<String> = resources
            .iter()
            .filter(|r| r["resourceType"] == "Organization")
            .filter_map(|r| r["id"].as_str().map(|i| format!("Organization/{i}")))
            .filter(|r| r.ends_with("-pharmacy"))
            .collect();
        resources.retain(|r| {
            !(r["resourceType"] == "Organization"
                && r["id"].as_str().is_some_and(|i| i.ends_with("-pharmacy")))
        });
        for r in &mut resources {
            replace_references(r, &copies, performer);
        }
    }
    for r in &resources {
        core.fhir.put_ok(r, &base).await?;
        core.publish(r);
    }
    Ok(())
}

/// Rewrites every `reference` equal to one of `from` to `to`.
fn replace_references(v: &mut Value, from: &[String], to: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "reference" && child.as_str().is_some_and(|s| from.iter().any(|f| f == s)) {
                    *child = Value::String(to.to_owned());
                } else {
                    replace_references(child, from, to);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_references(i, from, to)),
        _ => {}
    }
}
