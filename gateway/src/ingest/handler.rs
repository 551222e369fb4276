//! `POST /fhir/Patient/{id}/$ingest?format=omh|healthkit|fitbit|googlefit[&timezone=IANA]`;
//! without `timezone`, `ingest.timezone` from the config applies.
//!
//! The body is never buffered whole: it is streamed ([`bridge`]) into the mapping driver
//! ([`super::source::map_readings`]) on a blocking thread; mapped readings come back through
//! a bounded channel to the [`Writer`], which stores them in batches of `ingest.batch_size`
//! ([`super::batch::write`]) and appends their batch-response entries to a file-backed pipe
//! ([`super::spool`]) that the response body streams. Authorization is the edge's: `$ingest`
//! needs `c` on Observation for that patient (`auth::enforce`); the answer carries no
//! resource, so it skips the post-filter. The answer's shape, when it begins, and how a
//! failure after that shows are in [`super::answer`]: before it begins, a body that is not
//! the format at all answers 400 and one over `ingest.max_bytes` 413.

use std::io::BufReader;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{AdapterError, FhirRequest, FhirResponse, ResponseBody};
use fhirgate_mappings::wearables::Context;
use tokio::sync::{mpsc, oneshot};

use super::answer::{Item, Writer};
use super::source::{Format, map_readings};
use super::{bridge, spool};
use crate::auth::Identity;
use crate::edge::negotiate::{check_accept, check_content_type};
use crate::error::{FHIR_JSON, GatewayError};
use crate::observe::EdgeLabels;
use crate::state::AppState;

/// `path` (below `/fhir`, no slashes at the ends) is `Patient/{id}/$ingest` and the method POST.
pub fn is_ingest(method: &Method, path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    method == Method::POST && parts.len() == 3 && parts[0] == "Patient" && parts[2] == "$ingest"
}

/// Handles an authenticated `$ingest` request; returns the result and the metric labels.
pub async fn handle(
    state: &Arc<AppState>,
    identity: Arc<Identity>,
    request: Request<Body>,
    path: &str,
    request_id: String,
    client_ip: Option<IpAddr>,
) -> (Result<FhirResponse, GatewayError>, EdgeLabels) {
    let (parts, body) = request.into_parts();
    let query = match crate::edge::query::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        Ok(q) => q,
        Err(e) => return (Err(e), EdgeLabels::default()),
    };
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let head = (|| {
        check_accept(param("_format").as_deref(), &parts.headers)?;
        let target = parse_target(&Method::POST, path)?;
        let base_url = crate::edge::public_base(&state.config.server, &parts.headers)?;
        check_content_type(
            target.interaction,
            target.operation.as_deref(),
            false,
            &parts.headers,
            1,
        )
        .map_err(|e| media_hint(e, &parts.headers, param("format").as_deref()))?;
        let declared_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(format) = param("format").and_then(|f| f.parse::<Format>().ok())
            && !format.accepts(declared_type)
        {
            return Err(media_hint(
                GatewayError::UnsupportedMediaType(String::new()),
                &parts.headers,
                Some(&format.to_string()),
            ));
        }
        let limit = state.config.ingest.max_bytes.as_u64();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(GatewayError::PayloadTooLarge { limit });
        }
        let mut fhir = FhirRequest::new(Method::POST, target, base_url);
        fhir.request_id = request_id;
        fhir.client_ip = client_ip;
        fhir.query = query.clone();
        Ok(fhir)
    })();
    let fhir = match head {
        Ok(f) => f,
        Err(e) => return (Err(e), EdgeLabels::default()),
    };
    let labels = EdgeLabels::of(&fhir);
    let (format, zone) = (param("format"), param("timezone"));
    // No post-filter: the answer carries no resource (see `answer`), and is streamed.
    let result = match crate::auth::authorize_unfiltered(state, identity, fhir).await {
        Ok(fhir) => run(state.clone(), fhir, body, format, zone).await,
        Err(e) => Err(e),
    };
    (result, labels)
}

/// A 415 of `$ingest` names the media type of the requested format (the edge's generic
/// answer would name `application/fhir+json`, which no source format is).
fn media_hint(
    error: GatewayError,
    headers: &axum::http::HeaderMap,
    format: Option<&str>,
) -> GatewayError {
    if !matches!(error, GatewayError::UnsupportedMediaType(_)) {
        return error;
    }
    let sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || "a body without Content-Type".to_owned(),
            |ct| format!("Content-Type: {ct}"),
        );
    let want = match format.and_then(|f| f.parse::<Format>().ok()) {
        Some(f) => format!("format={f} takes {}", f.media_type()),
        None => "use application/json for format=omh, fitbit or googlefit, application/xml for format=healthkit".to_owned(),
    };
    GatewayError::UnsupportedMediaType(format!("{sent} is not accepted for $ingest: {want}"))
}

/// The subject must exist: readings are never stored for a patient the Patient route does
/// not know (404, as a read of `Patient/{id}` answers; 410 for a deleted one).
async fn ensure_patient(
    state: &AppState,
    request: &FhirRequest,
    patient: &str,
) -> Result<(), GatewayError> {
    let Some(adapter) = state
        .route(Some("Patient"), fhirgate_adapters::Interaction::Read)
        .and_then(|route| route.first())
    else {
        return Err(GatewayError::NotFound(format!(
            "no route reads Patient/{patient}"
        )));
    };
    let target = parse_target(&Method::GET, &format!("Patient/{patient}"))?;
    let mut read = FhirRequest::new(Method::GET, target, request.base_url.clone());
    read.request_id = request.request_id.clone();
    read.principal = request.principal.clone();
    read.client_ip = request.client_ip;
    let answer = adapter.handle(read).await?;
    match answer.status {
        s if s.is_success() => Ok(()),
        StatusCode::NOT_FOUND | StatusCode::GONE => Err(GatewayError::NotFound(format!(
            "Patient/{patient} does not exist"
        ))),
        s => Err(GatewayError::Adapter(AdapterError::BadGateway {
            adapter: adapter.name().to_owned(),
            detail: format!("reading the patient answered {}", s.as_u16()),
        })),
    }
}

async fn run(
    state: Arc<AppState>,
    request: FhirRequest,
    body: Body,
    format: Option<String>,
    zone: Option<String>,
) -> Result<FhirResponse, GatewayError> {
    let format: Format = format
        .as_deref()
        .ok_or_else(|| {
            GatewayError::BadRequest("$ingest needs ?format=omh|healthkit|fitbit|googlefit".into())
        })?
        .parse()
        .map_err(GatewayError::BadRequest)?;
    let patient = request.id.clone().unwrap_or_default();
    ensure_patient(&state, &request, &patient).await?;
    let zone = zone.or_else(|| state.config.ingest.timezone.clone());
    let ctx = Context::new(&patient, zone.as_deref())
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let (spool, answer) =
        spool::create(&state.config.server.data_dir.join("ingest")).map_err(|e| {
            tracing::warn!(error = %e, "ingest answer spool could not be created");
            GatewayError::Adapter(AdapterError::Unavailable {
                adapter: "ingest".into(),
                detail: "the answer could not be spooled".into(),
            })
        })?;
    let cfg = &state.config.ingest;
    let (reader, over_limit) = bridge::pump(body, cfg.max_bytes.as_u64());
    let (tx, rx) = mpsc::channel::<Item>(cfg.batch_size * 2);
    tokio::task::spawn_blocking(move || {
        // Once the reader has said "over the limit", any error is the cut's, not a reading's.
        let cut = || over_limit.load(Ordering::SeqCst);
        let result = map_readings(
            format,
            BufReader::with_capacity(1 << 16, reader),
            &ctx,
            |item, warnings| {
                if item.is_err() && cut() {
                    return Err("cut".to_owned());
                }
                tx.blocking_send(Item::Reading(item, warnings.to_vec()))
                    .map_err(|_| "ingest stopped".to_owned())
            },
        );
        let end = if cut() { Item::Cut } else { Item::End(result) };
        let _ = tx.blocking_send(end);
    });
    let (head_tx, head_rx) = oneshot::channel();
    let writer = Writer::new(state.clone(), request, spool, head_tx);
    tokio::spawn(writer.run(rx));
    match head_rx.await {
        Ok(Ok(())) => {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
            Ok(FhirResponse {
                status: StatusCode::OK,
                headers,
                body: ResponseBody::Stream(answer.into_stream()),
            })
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(GatewayError::Adapter(AdapterError::Unavailable {
            adapter: "ingest".into(),
            detail: "the ingest stopped before answering".into(),
        })),
    }
}
