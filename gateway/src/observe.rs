//! Request ids, access logs and Prometheus metrics for every response.

use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use axum::middleware::Next;
use axum::response::Response;
use fhirgate_adapters::FhirRequest;
use fhirgate_adapters::interaction::is_resource_type;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

/// The request's id, from a well-formed incoming `X-Request-Id` or generated (UUID v4).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Metric labels the FHIR edge attaches to its responses.
#[derive(Debug, Clone, Default)]
pub struct EdgeLabels {
    /// Interaction code, or `none` when the request named none.
    pub interaction: &'static str,
    /// R4 resource type, or `none`.
    pub resource_type: String,
}

impl EdgeLabels {
    /// Labels for a parsed request (resource types are R4 names, so cardinality is bounded).
    pub fn of(request: &FhirRequest) -> Self {
        Self {
            interaction: request.interaction.code(),
            resource_type: request
                .resource_type
                .clone()
                .filter(|t| is_resource_type(t))
                .unwrap_or_else(|| "none".into()),
        }
    }
}

const X_REQUEST_ID: &str = "x-request-id";

/// Longest request target (path and query) served, in bytes. Longer ones answer 414 with
/// an OperationOutcome (RFC 9110 §15.5.15); a long search belongs in `POST [type]/_search`
/// (FHIR R4 http.html "search"). hyper refuses targets beyond its own parser limit itself.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Whether an incoming request id is safe to echo and log: 1–128 of `[A-Za-z0-9._:-]`.
fn well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Middleware: assigns the request id, runs the request in a span carrying it, echoes it
/// in `X-Request-Id`, writes one access-log line (method, path, status, ms — no query,
/// which may hold names) and records the request metrics.
pub async fn observe(mut request: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let span = tracing::info_span!("request", request_id = %id);
    let too_long = request
        .uri()
        .path_and_query()
        .is_some_and(|t| t.as_str().len() > MAX_URI_BYTES);
    let mut response = if too_long {
        crate::error::outcome(
            axum::http::StatusCode::URI_TOO_LONG,
            fhirgate_conformance::IssueCode::TooLong,
            format!(
                "the request target is longer than {MAX_URI_BYTES} bytes; send long searches as POST [type]/_search"
            ),
        )
    } else {
        next.run(request).instrument(span).await
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let labels = response.extensions().get::<EdgeLabels>().cloned();
    tracing::info!(request_id = %id, method = %method, path = %path, status, ms = seconds * 1000.0, "request");
    if let Some(labels) = labels {
        let tags = [
            ("interaction", labels.interaction.to_owned()),
            ("resource_type", labels.resource_type),
            ("status", status.to_string()),
        ];
        metrics::counter!("fhirgate_requests_total", &tags).increment(1);
        metrics::histogram!("fhirgate_request_duration_seconds", &tags[..2]).record(seconds);
    }
    response
}

/// The path with anything outside FHIR id/path characters replaced, at most 200 bytes.
fn loggable_path(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "/_.$-".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// How often recorded histogram samples are folded into their buckets when nobody scrapes.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide Prometheus recorder, installed on first use, with its upkeep thread.
///
/// The recorder keeps every histogram sample (8 bytes per request for
/// `fhirgate_request_duration_seconds`) until upkeep folds them into buckets; the exporter's
/// own `install` runs that upkeep, building the recorder by hand does not. Without it a
/// gateway nobody scrapes grew by about 80 MiB in 10 minutes at 8,500 req/s (the benchmark's
/// mixed load), so a thread runs it every 5 s.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // A second recorder (another app in the same test process) keeps the first one.
        let _ = metrics::set_global_recorder(recorder);
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(METRICS_UPKEEP);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "metrics upkeep thread not started; histograms grow until scraped");
        }
        handle
    })
}
