//! Store benchmark (not a test): loads 10,000 Observations, then reports read p50/p99,
//! search by patient+code p50/p99 and writes/s, on SQLite and PostgreSQL (skipped with a
//! message when 127.0.0.1:5432 is unreachable). Run: `cargo bench -p fhirgate-adapters --bench store`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::store::{StoreConfig, build};
use fhirgate_adapters::{BuildContext, FhirRequest, ResponseBody, SharedAdapter};
use http::{Method, StatusCode};
use serde_json::{Value, json};

const OBSERVATIONS: usize = 10_000;

const PATIENTS: usize = 100;
const CODES: [&str; 10] = [
    "8867-4", "8480-6", "8462-4", "29463-7", "8302-2", "39156-5", "2708-6", "8310-5", "9279-1",
    "718-7",
];
const BASE: &str = "http://bench/fhir";

async fn call(
    a: &SharedAdapter,
    method: Method,
    path_query: &str,
    body: Option<String>,
) -> (StatusCode, Value) {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req = FhirRequest::new(method.clone(), parse_target(&method, path).unwrap(), BASE);
    req.query = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some(b) = body {
        req.body = Bytes::from(b);
    }
    let resp = a.handle(req).await.unwrap();
    let ResponseBody::Full(bytes) = resp.body else {
        panic!("stream")
    };
    (
        resp.status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn observation(i: usize) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": CODES[i % CODES.len()]}]},
        "subject": {"reference": format!("Patient/bench-{}", i % PATIENTS)},
        "effectiveDateTime": format!("2024-{:02}-{:02}T10:00:00+01:00", 1 + i % 12, 1 + i % 28),
        "valueQuantity": {"value": 72.10, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx].as_secs_f64() * 1000.0
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

async fn run(label: &str, config: StoreConfig, dir: std::path::PathBuf) {
    let adapter = match build("bench", &config, &BuildContext::new(dir.clone())).await {
        Ok(a) => a,
        Err(e) => {
            println!("{label}: skipped ({e})");
            return;
        }
    };
    // bulk load through transactions of 500
    let mut ids = Vec::with_capacity(OBSERVATIONS);
    let start = Instant::now();
    for chunk in (0..OBSERVATIONS).collect::<Vec<_>>().chunks(500) {
        let entries: Vec<Value> = chunk
            .iter()
            .map(|&i| json!({"resource": observation(i), "request": {"method": "POST", "url": "Observation"}}))
            .collect();
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
        let (status, body) = call(&adapter, Method::POST, "", Some(bundle.to_string())).await;
        assert_eq!(status, StatusCode::OK);
        for e in body["entry"].as_array().unwrap() {
            let loc = e["response"]["location"].as_str().unwrap();
            ids.push(loc.split('/').nth(1).unwrap().to_owned());
        }
    }
    let bulk = OBSERVATIONS as f64 / start.elapsed().as_secs_f64();
    // single creates, one transaction each
    let n_single = 1000;
    let start = Instant::now();
    for i in 0..n_single {
        let (status, _) = call(
            &adapter,
            Method::POST,
            "Observation",
            Some(observation(i).to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let single = n_single as f64 / start.elapsed().as_secs_f64();
    let mut rng = Lcg(42);
    let mut reads = Vec::new();
    for _ in 0..3000 {
        let id = &ids[rng.next(ids.len())];
        let t = Instant::now();
        let (status, _) = call(&adapter, Method::GET, &format!("Observation/{id}"), None).await;
        reads.push(t.elapsed());
        assert_eq!(status, StatusCode::OK);
    }
    let mut searches = Vec::new();
    let mut matched = 0;
    for _ in 0..1000 {
        let p = rng.next(PATIENTS);
        let c = CODES[rng.next(CODES.len())];
        let q = format!("Observation?patient=bench-{p}&code=http://loinc.org|{c}");
        let t = Instant::now();
        let (status, body) = call(&adapter, Method::GET, &q, None).await;
        searches.push(t.elapsed());
        assert_eq!(status, StatusCode::OK);
        matched += body["entry"].as_array().map_or(0, Vec::len);
    }
    println!(
        "{label}: {OBSERVATIONS} Observations loaded; writes/s: {bulk:.0} (transactions of 500), {single:.0} (single creates)"
    );
    println!(
        "{label}: read p50 {:.3} ms, p99 {:.3} ms ({} reads)",
        percentile(&mut reads, 0.5),
        percentile(&mut reads, 0.99),
        reads.len()
    );
    println!(
        "{label}: search patient+code p50 {:.3} ms, p99 {:.3} ms ({} searches, {:.1} matches each)",
        percentile(&mut searches, 0.5),
        percentile(&mut searches, 0.99),
        searches.len(),
        matched as f64 / searches.len() as f64
    );
    if let Some(schema) = &config.schema {
        use sqlx::Connection;
        if let Ok(mut c) = sqlx::PgConnection::connect(&config.url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA \"{schema}\" CASCADE"
            )))
            .execute(&mut c)
            .await;
        }
    }
    if std::env::var_os("FHIRGATE_BENCH_KEEP").is_some() {
        println!("{label}: kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::main]
async fn main() {
    let tag = format!(
        "{}_{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    );
    let dir = std::env::temp_dir().join(format!("fhirgate_bench_{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = StoreConfig {
        seed: false,
        ..StoreConfig::default()
    };
    run("sqlite", sqlite, dir.clone()).await;
    let pg = StoreConfig {
        url: std::env::var("FHIRGATE_BENCH_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        schema: Some(format!("fg_bench_{}", std::process::id())),
        seed: false,
        ..StoreConfig::default()
    };
    run("postgres", pg, dir.join("pg")).await;
}
