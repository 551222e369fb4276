//! Measures what the `fhir` adapter adds per request over a direct reqwest call to the same
//! upstream (a small read, and a 1000-entry searchset Bundle whose links are rewritten).
//! Ignored by default; run with
//! `cargo test --release -p fhirgate-adapters --test fhir_overhead -- --ignored --nocapture`.

mod support;

use std::time::{Duration, Instant};

use fhirgate_adapters::Adapter;
use http::{Method, StatusCode};
use serde_json::json;
use support::recorder::{Canned, Recorder};
use support::{adapter, body_bytes, request};

fn searchset(base: &str, n: usize) -> serde_json::Value {
    let entries: Vec<_> = (0..n)
        .map(|i| {
            json!({"fullUrl": format!("{base}/Observation/{i}"),
            "resource": {"resourceType": "Observation", "id": i.to_string(), "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
              "valueQuantity": {"value": 72, "unit": "/min"}}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "searchset", "total": n,
        "link": [{"relation": "next", "url": format!("{base}/Observation?code=http://loinc.org|8867-4&_offset={n}")}],
        "entry": entries})
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
#[ignore = "measurement; run in release"]
async fn overhead_against_direct_upstream() {
    let up = Recorder::start(|r| {
        let base = format!("http://{}/fhir", r.header("host").unwrap_or_default());
        if r.target().starts_with("/fhir/Observation?") {
            Canned::json(200, &searchset(&base, 1000))
        } else {
            Canned::json(200, &json!({"resourceType": "Patient", "id": "1"}))
        }
    })
    .await;
    let a = adapter(json!({"base_url": up.base}));
    let direct = reqwest::Client::new();
    for (label, path) in [
        ("read", "Patient/1"),
        ("search 1000 entries", "Observation?code=x"),
    ] {
        let (mut d, mut via) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            let t = Instant::now();
            let r = direct
                .get(format!("{}/{path}", up.base))
                .send()
                .await
                .expect("direct");
            let _ = r.bytes().await.expect("body");
            d.push(t.elapsed());
            let t = Instant::now();
            let resp = a.handle(request(Method::GET, path)).await.expect("adapter");
            assert_eq!(resp.status, StatusCode::OK);
            let _ = body_bytes(resp).await;
            via.push(t.elapsed());
        }
        println!(
            "{label}: direct median {:?}, through adapter median {:?}",
            median(d),
            median(via)
        );
    }
}

#[test]
#[ignore = "measurement; run in release"]
fn bundle_rewrite_cost() {
    use fhirgate_adapters::fhir::bundle::rewrite_links;
    use fhirgate_adapters::fhir::rewrite::Base;
    let bytes = searchset("http://up:8080/fhir", 1000)
        .to_string()
        .into_bytes();
    let (up, gw) = (
        Base::parse("http://up:8080/fhir").expect("base"),
        Base::parse("https://gw.example.org/fhir").expect("base"),
    );
    let runs = 50;
    let t = Instant::now();
    for _ in 0..runs {
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let _ = serde_json::to_vec(&v).expect("bytes");
    }
    let parse = t.elapsed() / runs;
    let t = Instant::now();
    for _ in 0..runs {
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert!(rewrite_links(&mut v, &up, &gw));
        let _ = serde_json::to_vec(&v).expect("bytes");
    }
    let all = t.elapsed() / runs;
    println!(
        "{} KiB Bundle, 1001 links: parse+serialize {parse:?}, with rewriting {all:?}",
        bytes.len() / 1024
    );
}
