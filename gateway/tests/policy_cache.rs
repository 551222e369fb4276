//! The response cache through the real binary: never patient A's answer for patient B on
//! the same URL, `Age` on hits, `no-cache` bypasses, 304 on `If-None-Match`, writes
//! invalidate reads and searches — also on a second replica through Redis pub/sub.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, auth_section, authed};

fn config() -> String {
    format!(
        "{}rate_limits:\n  enabled: false\naudit:\n  fsync: false\n",
        support::store_config("")
    )
}

async fn put_patient(c: &reqwest::Client, gw: &Gateway, id: &str, family: &str) {
    let r = c
        .put(gw.fhir(&format!("/Patient/{id}")))
        .header("content-type", "application/fhir+json")
        .body(
            json!({"resourceType": "Patient", "id": id, "name": [{"family": family}]}).to_string(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("put: {e}\n{}", gw.logs().join("\n")));
    assert!(r.status().is_success(), "{}", r.status());
}

async fn get(c: &reqwest::Client, url: &str) -> (StatusCode, Option<String>, Value) {
    let r = c.get(url).send().await.expect("get");
    let status = r.status();
    let age = r
        .headers()
        .get("age")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, age, body)
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn patient_a_answer_is_never_served_to_patient_b() {
    let gw = Gateway::start(&config());
    let sys = gw.system_client();
    put_patient(&sys, &gw, "pa", "Alpha").await;
    put_patient(&sys, &gw, "pb", "Beta").await;
    let token = |p: &str| {
        gw.token_with(&[
            "--scope",
            "patient/*.rs",
            "--patient",
            p,
            "--client-id",
            "app",
        ])
    };
    let (a, b) = (authed(&token("pa")), authed(&token("pb")));
    let url = gw.fhir("/Patient");
    let (_, first_age, first) = get(&a, &url).await;
    assert_eq!(ids(&first), ["pa"]);
    assert_eq!(first_age, None, "miss");
    let (_, age, again) = get(&a, &url).await;
    assert!(age.is_some(), "hit");
    assert_eq!(ids(&again), ["pa"]);
    let (_, age_b, theirs) = get(&b, &url).await;
    assert_eq!(ids(&theirs), ["pb"], "B gets its own answer");
    assert_eq!(age_b, None, "not A's cached entry");
    let read = gw.fhir("/Patient/pa");
    let (status, _, _) = get(&a, &read).await;
    assert_eq!(status, StatusCode::OK);
    let (status, age, _) = get(&a, &read).await;
    assert_eq!((status, age.is_some()), (StatusCode::OK, true));
    let (status, _, body) = get(&b, &read).await;
    assert_ne!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains("Alpha"));
}

#[tokio::test]
async fn writes_invalidate_no_cache_bypasses_and_if_none_match_answers_304() {
    let gw = Gateway::start(&config());
    let sys = gw.system_client();
    put_patient(&sys, &gw, "pa", "One").await;
    let read = gw.fhir("/Patient/pa");
    let r = sys.get(&read).send().await.expect("get");
    let etag = r.headers()["etag"].to_str().expect("etag").to_owned();
    let (_, age, _) = get(&sys, &read).await;
    assert!(age.is_some(), "hit");
    let r = sys
        .get(&read)
        .header("cache-control", "no-cache")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get("age").is_none(),
        "no-cache bypasses the cache"
    );
    let r = sys
        .get(&read)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.headers().get("age").is_some(), "answered from the cache");
    assert_eq!(r.headers()["etag"].to_str().expect("etag"), etag);
    let search = gw.fhir("/Patient?family=Two");
    let (_, _, before) = get(&sys, &search).await;
    assert!(ids(&before).is_empty());
    let (_, age, _) = get(&sys, &search).await;
    assert!(age.is_some(), "search cached");
    put_patient(&sys, &gw, "pa", "Two").await;
    let (_, age, body) = get(&sys, &read).await;
    assert_eq!(
        (age, body["name"][0]["family"].as_str()),
        (None, Some("Two"))
    );
    let (_, _, after) = get(&sys, &search).await;
    assert_eq!(ids(&after), ["pa"], "search of the type invalidated");
    // A transaction entry invalidates too.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "pa", "name": [{"family": "Three"}]},
         "request": {"method": "PUT", "url": "Patient/pa"}}]});
    let r = sys
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(tx.to_string())
        .send()
        .await
        .expect("tx");
    assert!(r.status().is_success(), "{}", r.status());
    let (_, _, body) = get(&sys, &read).await;
    assert_eq!(body["name"][0]["family"], "Three");
    let metrics = gw.metrics().await;
    for name in [
        "fhirgate_cache_hits_total",
        "fhirgate_cache_misses_total",
        "fhirgate_cache_bytes",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}

#[tokio::test]
async fn redis_invalidation_reaches_a_second_replica_within_100_ms() {
    let shared = tempfile::tempdir().expect("shared");
    let prefix = format!("fhirgate-test-{}", uuid::Uuid::new_v4().simple());
    let config = format!(
        "server:\n  listen: 127.0.0.1:0\n{}adapters:\n  store:\n    kind: store\n    url: sqlite://{}/store.db\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\nrate_limits:\n  enabled: false\naudit:\n  fsync: false\nshared_state:\n  redis:\n    url: redis://127.0.0.1:6379\n    key_prefix: {prefix}\n",
        auth_section("http://fhirgate.test/sandbox/auth", ""),
        shared.path().display()
    );
    let one = Gateway::start(&config);
    // The second replica trusts the same sandbox key, so one token works on both.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(dir.path().join("data")).expect("data");
    let key = "sandbox-auth-es384.pk8";
    std::fs::copy(
        one.dir.path().join("data").join(key),
        dir.path().join("data").join(key),
    )
    .expect("key");
    let two = Gateway::start_in(&config, dir);
    let sys = one.system_client();
    put_patient(&sys, &one, "pa", "One").await;
    let read = two.fhir("/Patient/pa");
    get(&sys, &read).await;
    let (_, age, body) = get(&sys, &read).await;
    assert!(age.is_some(), "cached on replica two");
    assert_eq!(body["name"][0]["family"], "One");
    put_patient(&sys, &one, "pa", "Two").await;
    let written = Instant::now();
    loop {
        let (_, _, body) = get(&sys, &read).await;
        if body["name"][0]["family"] == "Two" {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_millis(100),
            "replica two still serves the old answer"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("replica two saw the write after {:?}", written.elapsed());
}

#[tokio::test]
async fn ttl_zero_disables_a_type_and_entries_expire() {
    let gw = Gateway::start(&format!(
        "{}cache:\n  default_ttl_seconds: 1\n  ttl_seconds:\n    Observation: 0\n",
        config()
    ));
    let sys = gw.system_client();
    put_patient(&sys, &gw, "pa", "One").await;
    let read = gw.fhir("/Patient/pa");
    get(&sys, &read).await;
    let (_, age, _) = get(&sys, &read).await;
    assert!(age.is_some(), "hit within the TTL");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, age, _) = get(&sys, &read).await;
    assert_eq!(age, None, "expired after 1 s");
    let search = gw.fhir("/Observation?_count=1");
    get(&sys, &search).await;
    let (status, age, _) = get(&sys, &search).await;
    assert_eq!((status, age), (StatusCode::OK, None), "TTL 0: never cached");
}

#[tokio::test]
async fn an_oversized_bundle_still_answers_413() {
    let gw = Gateway::start(&format!(
        "{}rate_limits:\n  enabled: false\n",
        support::store_config("  body_limit: 2KiB\n")
    ));
    let big = json!({"resourceType": "Bundle", "type": "batch", "entry": [], "padding": "x".repeat(4096)});
    let r = gw
        .system_client()
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .header("transfer-encoding", "chunked")
        .body(reqwest::Body::wrap_stream(futures::stream::once(
            async move { Ok::<_, std::io::Error>(big.to_string()) },
        )))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["issue"][0]["code"], "too-long");
}
