//! Rate limits through the real binary: 429 with `Retry-After` and an OperationOutcome past
//! the burst, RateLimit-* headers on every answer, clients independent, per-client tiers;
//! three replicas sharing Redis hold one global budget; Redis stopped mid-test → local
//! limits and no error to clients (a private `redis-server` on a free port).

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use support::{Gateway, authed, client, free_port, store_config};

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn limits(redis: &str) -> String {
    format!(
        "{}rate_limits:\n  default: {{per_second: 1, burst: 3}}\n  anonymous: {{per_second: 1, burst: 2}}\n  clients:\n    app-c: {{per_second: 1, burst: 5}}\naudit:\n  fsync: false\n{redis}",
        store_config("")
    )
}

#[tokio::test]
async fn over_the_limit_answers_429_with_retry_after_and_clients_are_independent() {
    let gw = Gateway::start(&limits(""));
    let token = |client: &str| gw.token_with(&["--scope", "system/*.rs", "--client-id", client]);
    let a = authed(&token("app-a"));
    for remaining in ["2", "1", "0"] {
        let r = a.get(gw.fhir("/Patient")).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "ratelimit-limit"), "3");
        assert_eq!(header(&r, "ratelimit-remaining"), remaining);
        let reset: u64 = header(&r, "ratelimit-reset").parse().expect("reset");
        assert!((1..=3).contains(&reset), "reset {reset}");
    }
    let r = a.get(gw.fhir("/Patient")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after"), "1");
    assert_eq!(header(&r, "ratelimit-remaining"), "0");
    assert!(header(&r, "content-type").starts_with("application/fhir+json"));
    assert!(r.headers().contains_key("x-request-id"));
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["issue"][0]["code"], "throttled");
    // Another client has its own budget; a listed client has its tier.
    let b = authed(&token("app-b"));
    let r = b.get(gw.fhir("/Patient")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "ratelimit-remaining"), "2");
    let c = authed(&token("app-c"));
    let r = c.get(gw.fhir("/Patient")).send().await.expect("send");
    assert_eq!(header(&r, "ratelimit-limit"), "5");
    // After 1 s one more request of A is allowed again.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let r = a.get(gw.fhir("/Patient")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    // Anonymous callers are limited per IP; health endpoints are not limited.
    let anon = client();
    let statuses: Vec<u16> = futures_statuses(&anon, &gw.fhir("/metadata"), 3).await;
    assert_eq!(statuses, [200, 200, 429]);
    for _ in 0..5 {
        let r = anon
            .get(format!("{}/healthz", gw.url))
            .send()
            .await
            .expect("healthz");
        assert_eq!(r.status(), StatusCode::OK);
    }
}

async fn futures_statuses(c: &reqwest::Client, url: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(c.get(url).send().await.expect("send").status().as_u16());
    }
    out
}

/// `timeout_ms` is the per-command Redis timeout: short where Redis is stopped on purpose,
/// long where a loaded CI host must not turn a slow command into local decisions.
fn redis_section(url: &str, prefix: &str, timeout_ms: u64) -> String {
    format!(
        "shared_state:\n  redis:\n    url: {url}\n    key_prefix: {prefix}\n    timeout_ms: {timeout_ms}\n"
    )
}

#[tokio::test]
async fn redis_three_replicas_hold_one_global_limit_within_ten_percent() {
    let prefix = format!("fhirgate-test-{}", uuid::Uuid::new_v4().simple());
    let config = format!(
        "{}rate_limits:\n  anonymous: {{per_second: 20, burst: 20}}\naudit:\n  fsync: false\n{}",
        store_config(""),
        redis_section("redis://127.0.0.1:6379", &prefix, 1000)
    );
    let replicas: Vec<Gateway> = (0..3).map(|_| Gateway::start(&config)).collect();
    let allowed = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let window = Duration::from_secs(10);
    let mut tasks = Vec::new();
    for gw in &replicas {
        for _ in 0..2 {
            let url = gw.fhir("/metadata");
            let (allowed, other) = (allowed.clone(), other.clone());
            tasks.push(tokio::spawn(async move {
                let c = client();
                while started.elapsed() < window {
                    match c.get(&url).send().await.map(|r| r.status().as_u16()) {
                        Ok(200) => {
                            allowed.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(429) => {}
                        _ => {
                            other.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let expected = 20.0 + 20.0 * elapsed;
    let got = allowed.load(Ordering::SeqCst) as f64;
    eprintln!(
        "three replicas: {got} allowed in {elapsed:.2} s, expected {expected:.0} (burst 20 + 20/s)"
    );
    assert_eq!(other.load(Ordering::SeqCst), 0, "only 200 and 429");
    assert!(
        (got - expected).abs() <= expected * 0.10,
        "{got} allowed, expected {expected:.0} ± 10 %"
    );
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_private_redis(port: u16) -> Redis {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Redis(child)
}

#[tokio::test]
async fn redis_stopped_mid_test_falls_back_to_local_limits_without_errors() {
    let port = free_port();
    let redis = start_private_redis(port);
    let gw = Gateway::start(&limits(&redis_section(
        &format!("redis://127.0.0.1:{port}"),
        "fallback",
        100,
    )));
    let a = authed(&gw.token_with(&["--scope", "system/*.rs", "--client-id", "app-a"]));
    let mut before = Vec::new();
    for _ in 0..4 {
        before.push(
            a.get(gw.fhir("/Patient"))
                .send()
                .await
                .expect("send")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(before, [200, 200, 200, 429], "global limit via redis");
    drop(redis);
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(
            a.get(gw.fhir("/Patient"))
                .send()
                .await
                .expect("send")
                .status()
                .as_u16(),
        );
    }
    // The local budget of app-a is fresh: 3 allowed, then refused; never an error.
    assert_eq!(
        after,
        [200, 200, 200, 429, 429],
        "local limits after redis stopped"
    );
    let metrics = gw.metrics().await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("fhirgate_ratelimit_redis_fallback_total"))
        .unwrap_or_else(|| panic!("fallback metric missing: {metrics}"));
    let count: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("value");
    assert!(count >= 5.0, "{line}");
    assert!(gw.logs().iter().any(|l| l.contains("using local limits")));
}

#[test]
fn invalid_policy_config_is_reported_with_its_key_path() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gateway.yaml");
    let yaml = format!(
        "{}rate_limits:\n  default: {{per_second: 0, burst: 0}}\ncache:\n  ttl_seconds:\n    Nonsense: 5\naudit:\n  queue: 0\n  key: short\nshared_state:\n  redis:\n    url: http://x\n",
        store_config("")
    );
    std::fs::write(&path, yaml).expect("write");
    let (code, _, err) = support::run_cli(
        &["check-config", "--config", path.to_str().expect("utf-8")],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    for key in [
        "rate_limits.default.per_second",
        "rate_limits.default.burst",
        "cache.ttl_seconds.Nonsense",
        "audit.queue",
        "audit.key",
        "shared_state.redis.url",
    ] {
        assert!(
            err.contains(&format!(": {key}: ")),
            "{key} missing in: {err}"
        );
    }
}

/// A batch of `n` reads of the sandbox payer Organization.
fn reads(n: usize) -> String {
    let entry =
        serde_json::json!({"request": {"method": "GET", "url": "Organization/sandbox-payer"}});
    serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": vec![entry; n]})
        .to_string()
}

/// With a burst of 5 (`app-c`): a batch of 3 spends 3, leaving 2; a batch of 3 more is
/// refused whole (429 before any entry runs) and spends only its request;
/// a single read still passes; a batch larger than the burst costs the burst.
async fn batches_spend_their_entries(gw: &Gateway) {
    let c = authed(&gw.token_with(&["--scope", "system/*.rs", "--client-id", "app-c"]));
    let post = |n: usize| {
        c.post(gw.fhir(""))
            .header("content-type", "application/fhir+json")
            .body(reads(n))
            .send()
    };
    let r = post(3).await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(3).await.expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "ratelimit-remaining"), "0");
    // Its request took 1 of the 2 left; the 2 entries beyond it lack 1, refilled in 1 s.
    assert_eq!(header(&r, "retry-after"), "1");
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["issue"][0]["code"], "throttled");
    let r = c.get(gw.fhir("/Patient")).send().await.expect("send");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the refused batch spent only its request"
    );
    assert_eq!(header(&r, "ratelimit-remaining"), "0");
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let r = post(40).await.expect("send");
    assert_eq!(r.status(), StatusCode::OK, "a full budget admits any batch");
    let r = c.get(gw.fhir("/Patient")).send().await.expect("send");
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "it cost the burst"
    );
}

#[tokio::test]
async fn a_batch_is_charged_by_its_entries_up_to_the_burst() {
    let gw = Gateway::start(&limits(""));
    batches_spend_their_entries(&gw).await;
}

#[tokio::test]
async fn a_batch_is_charged_by_its_entries_in_redis_too() {
    let port = free_port();
    let _redis = start_private_redis(port);
    let prefix = format!("fg-batch-{}", std::process::id());
    let gw = Gateway::start(&limits(&redis_section(
        &format!("redis://127.0.0.1:{port}"),
        &prefix,
        1000,
    )));
    batches_spend_their_entries(&gw).await;
    let metrics = gw.metrics().await;
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("fhirgate_ratelimit_redis_fallback_total")),
        "decided by Redis"
    );
}
