//! `POST /fhir/Patient/{id}/$ingest?format=omh|healthkit|fitbit[&timezone=IANA]`; without
//! `timezone`, `ingest.timezone` from the config applies.
//!
//! The body is never buffered whole: it is streamed ([`bridge`]) into the mapping driver
//! ([`source::map_reader`]) on a blocking thread, mapped readings come back through a
//! bounded channel and are written in batches of `ingest.batch_size` ([`batch::write`]).
//! Authorization is the edge's: `$ingest` needs `c` on Observation for that patient
//! (`auth::enforce`). The answer is a `batch-response` Bundle, one entry per reading in
//! source order: `201 Created`, `200 OK` (already present: same identifier), or `400 Bad
//! Request` with an OperationOutcome naming the reading and the reason. A body that is not
//! the format at all (no reading found) answers 400; one over `ingest.max_bytes` 413.
//! Left for later: the answer itself is held in memory (one small entry per reading), and
//! the mapper's warnings (e.g. Fitbit without `timezone`) are only logged.

use std::io::BufReader;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use bytes::Bytes;
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{FhirRequest, FhirResponse, ResponseBody};
use fhirgate_mappings::MappingError;
use fhirgate_mappings::wearables::{Context, Observation};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::source::{Format, SourceError, map_reader};
use super::{batch, bridge, issue};
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
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
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
        )?;
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
    let result = crate::auth::protect(state, identity, fhir, |f| {
        run(state.clone(), f, body, format, zone)
    })
    .await;
    (result, labels)
}

enum Item {
    Reading(Result<Observation, MappingError>),
    End(Result<Vec<String>, SourceError>),
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
            GatewayError::BadRequest("$ingest needs ?format=omh|healthkit|fitbit".into())
        })?
        .parse()
        .map_err(GatewayError::BadRequest)?;
    let patient = request.id.clone().unwrap_or_default();
    let zone = zone.or_else(|| state.config.ingest.timezone.clone());
    let ctx = Context::new(&patient, zone.as_deref())
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let cfg = &state.config.ingest;
    let (reader, too_large) = bridge::pump(body, cfg.max_bytes.as_u64());
    let (tx, mut rx) = mpsc::channel::<Item>(cfg.batch_size * 2);
    tokio::task::spawn_blocking(move || {
        let result = map_reader(
            format,
            BufReader::with_capacity(1 << 16, reader),
            &ctx,
            |item| {
                tx.blocking_send(Item::Reading(item))
                    .map_err(|_| "ingest stopped".to_owned())
            },
        );
        let _ = tx.blocking_send(Item::End(result));
    });
    let mut entries: Vec<Value> = Vec::new();
    let mut pending: Vec<(usize, Observation)> = Vec::with_capacity(cfg.batch_size);
    let mut end = Err(SourceError::Sink("the mapper stopped".into()));
    while let Some(item) = rx.recv().await {
        match item {
            Item::Reading(Ok(obs)) => {
                pending.push((entries.len(), obs));
                entries.push(Value::Null);
                if pending.len() >= cfg.batch_size {
                    flush(&state, &request, &mut pending, &mut entries).await;
                }
            }
            Item::Reading(Err(e)) => {
                let i = issue::refused(entries.len(), &e);
                entries.push(batch::failed_entry(
                    "400 Bad Request",
                    i.code,
                    i.diagnostics,
                ));
            }
            Item::End(r) => {
                end = r;
                break;
            }
        }
    }
    flush(&state, &request, &mut pending, &mut entries).await;
    if too_large.load(Ordering::SeqCst) {
        return Err(GatewayError::PayloadTooLarge {
            limit: cfg.max_bytes.as_u64(),
        });
    }
    match end {
        Ok(warnings) if !warnings.is_empty() => {
            tracing::info!(warnings = warnings.len(), "ingest mapped with warnings")
        }
        Ok(_) => {}
        Err(SourceError::Mapping(e)) if entries.is_empty() => {
            return Err(GatewayError::BadRequest(e.to_string()));
        }
        Err(SourceError::Mapping(e)) => {
            let i = issue::refused(entries.len(), &e);
            entries.push(batch::failed_entry(
                "400 Bad Request",
                i.code,
                i.diagnostics,
            ));
        }
        Err(SourceError::Sink(e)) => return Err(GatewayError::BadRequest(e)),
    }
    if entries.is_empty() {
        return Err(GatewayError::BadRequest(
            "the body holds no readings".into(),
        ));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "batch-response", "entry": entries});
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    Ok(FhirResponse {
        status: StatusCode::OK,
        headers,
        body: ResponseBody::Full(Bytes::from(bundle.to_string())),
    })
}

async fn flush(
    state: &AppState,
    request: &FhirRequest,
    pending: &mut Vec<(usize, Observation)>,
    entries: &mut [Value],
) {
    if pending.is_empty() {
        return;
    }
    let (indices, observations): (Vec<usize>, Vec<Observation>) = pending.drain(..).unzip();
    let answers = batch::write(state, request, &observations, &indices).await;
    for (index, answer) in indices.into_iter().zip(answers) {
        if let Some(slot) = entries.get_mut(index) {
            *slot = answer;
        }
    }
}
