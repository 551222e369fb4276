//! Shared helpers of the e-prescribing end-to-end tests: a gateway config with the embedded
//! store, the sandbox pharmacy and an `ncpdp` adapter; the sandbox bundle's complete
//! MedicationRequest; polling of Tasks; the sandbox pharmacy's stats and mode switch.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::support::{Gateway, auth_section, repo_root};

/// The sandbox pharmacy's NCPDP ID (seeded Organization `sandbox-pharmacy`).
pub const PHARMACY: &str = "9999999";

/// Options of [`config`].
pub struct Options {
    /// Sandbox pharmacy mode at start (`up`, `down`, `slow`, `error-601`).
    pub mode: &'static str,
    /// Seconds before the sandbox sends RxFill.
    pub delay_seconds: f64,
    /// `outbox:` section body (indented 6 spaces), empty for the default SQLite outbox.
    pub outbox: String,
    /// Extra lines under the `pharmacy` adapter (indented 4 spaces).
    pub pharmacy_extra: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: "up",
            delay_seconds: 0.5,
            outbox: String::new(),
            pharmacy_extra: String::new(),
        }
    }
}

/// A gateway config: store, sandbox pharmacy (admin on), `pharmacy` (kind ncpdp) serving
/// MedicationRequest create/update, the store serving the rest; fast retries.
pub fn config(o: &Options) -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    let outbox = if o.outbox.is_empty() {
        String::new()
    } else {
        format!("    outbox:\n{}", o.outbox)
    };
    format!(
        r#"server:
  listen: 127.0.0.1:0
{auth}rate_limits:
  enabled: false
adapters:
  store:
    kind: store
    url: sqlite://store.db
  sandbox-pharmacy:
    kind: sandbox-pharmacy
    mode: {mode}
    delay_seconds: {delay}
    admin: true
  pharmacy:
    kind: ncpdp
    store: store
{outbox}    retry: {{initial_ms: 100, max_ms: 400}}
    pharmacies:
      - ncpdp_id: "{PHARMACY}"
        endpoint: /sandbox/pharmacy/script
        credential_file: sandbox-pharmacy.secret
        inbound_credential_file: sandbox-pharmacy.secret
{extra}routes:
  - resources: [MedicationRequest]
    interactions: [create, update, delete]
    adapters: [pharmacy]
  - resources: ["*"]
    adapters: [store]
"#,
        mode = o.mode,
        delay = o.delay_seconds,
        extra = o.pharmacy_extra,
    )
}

/// The sandbox bundle's complete MedicationRequest (`adapters/seed/sandbox.json`), without
/// its id, with identifier `https://fhirgate.test/rx|{value}`.
pub fn sandbox_medication_request(value: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("adapters/seed/sandbox.json"))
        .expect("sandbox bundle");
    let bundle: Value = serde_json::from_str(&text).expect("json");
    let mut mr = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["resource"].clone())
        .find(|r| r["resourceType"] == "MedicationRequest")
        .expect("a MedicationRequest in the sandbox bundle");
    mr.as_object_mut().expect("object").remove("id");
    mr["identifier"] = json!([{"system": "https://fhirgate.test/rx", "value": value}]);
    mr
}

/// A unique identifier value for this run.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// `POST /fhir/MedicationRequest`: (status, body).
pub async fn post_mr(client: &reqwest::Client, gw: &Gateway, mr: &Value) -> (u16, Value) {
    let (status, _, body) = post_mr_full(client, gw, mr).await;
    (status, body)
}

/// `POST /fhir/MedicationRequest`: (status, headers, body).
pub async fn post_mr_full(
    client: &reqwest::Client,
    gw: &Gateway,
    mr: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = client
        .post(gw.fhir("/MedicationRequest"))
        .header("content-type", "application/fhir+json")
        .body(mr.to_string())
        .send()
        .await
        .expect("POST MedicationRequest");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

/// The Tasks whose focus is MedicationRequest `id`, with task code `code`.
pub async fn tasks(client: &reqwest::Client, gw: &Gateway, id: &str, code: &str) -> Vec<Value> {
    let url = gw.fhir(&format!("/Task?focus=MedicationRequest/{id}"));
    let bundle: Value = client
        .get(url)
        .send()
        .await
        .expect("Task search")
        .json()
        .await
        .expect("json");
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .filter(|t| t["code"]["coding"][0]["code"] == code)
        .collect()
}

/// Waits (at most `secs`) until the `code` Task of MedicationRequest `id` has `status`.
pub async fn wait_task(
    client: &reqwest::Client,
    gw: &Gateway,
    id: &str,
    code: &str,
    status: &str,
    secs: u64,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let found = tasks(client, gw, id, code).await;
        if let Some(t) = found.iter().find(|t| t["status"] == status) {
            return t.clone();
        }
        if Instant::now() > deadline {
            panic!("{code} Task of {id} never reached {status}: {found:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The MedicationDispenses authorized by MedicationRequest `id`.
pub async fn dispenses(client: &reqwest::Client, gw: &Gateway, id: &str) -> Vec<Value> {
    let url = gw.fhir(&format!(
        "/MedicationDispense?prescription=MedicationRequest/{id}"
    ));
    let bundle: Value = client
        .get(url)
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}

/// The sandbox secret the gateway generated in its data dir.
pub fn sandbox_secret(gw: &Gateway) -> String {
    std::fs::read_to_string(gw.dir.path().join("data/sandbox-pharmacy.secret"))
        .expect("sandbox secret")
        .trim()
        .to_owned()
}

/// `Authorization: Basic` for `user` with the sandbox secret.
pub fn basic(gw: &Gateway, user: &str) -> String {
    let raw = format!("{user}:{}", sandbox_secret(gw));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// `GET /sandbox/pharmacy/stats`.
pub async fn stats(gw: &Gateway) -> Value {
    crate::support::client()
        .get(format!("{}/sandbox/pharmacy/stats", gw.url))
        .header("authorization", basic(gw, "test"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

/// Switches the sandbox pharmacy to `mode`.
pub async fn set_mode(gw: &Gateway, mode: &str) {
    let r = crate::support::client()
        .post(format!("{}/sandbox/pharmacy/mode", gw.url))
        .header("authorization", basic(gw, "test"))
        .body(mode.to_owned())
        .send()
        .await
        .expect("mode");
    assert_eq!(r.status(), 200, "mode switch");
}

/// Waits (at most `secs`) until `check(stats)` holds; returns the stats.
pub async fn wait_stats(gw: &Gateway, secs: u64, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = stats(gw).await;
        if check(&s) {
            return s;
        }
        if Instant::now() > deadline {
            panic!("sandbox stats never satisfied the condition: {s}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `fhirgate_outbox_deliveries_total` of the `pharmacy` adapter for `kind` and `outcome`
/// from `/metrics` (0 when the series does not exist yet).
pub async fn outbox_deliveries(gw: &Gateway, kind: &str, outcome: &str) -> f64 {
    let text = gw.metrics().await;
    let labels = [
        "adapter=\"pharmacy\"".to_owned(),
        format!("kind=\"{kind}\""),
        format!("outcome=\"{outcome}\""),
    ];
    text.lines()
        .filter(|l| l.starts_with("fhirgate_outbox_deliveries_total{"))
        .filter(|l| labels.iter().all(|label| l.contains(label.as_str())))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits (at most 10 s) until [`outbox_deliveries`] reaches `at_least`; returns it.
pub async fn wait_outbox_deliveries(gw: &Gateway, kind: &str, outcome: &str, at_least: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = outbox_deliveries(gw, kind, outcome).await;
        if n >= at_least {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "{kind} {outcome}: {n} < {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
