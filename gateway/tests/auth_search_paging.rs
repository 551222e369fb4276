//! A patient-restricted search on a type outside the Patient compartment pages over what
//! the caller is shown, and nothing else (FHIR R4 search.html §3.1.1.6 paging,
//! bundle.html `Bundle.link`; SMART App Launch 2.x §3 patient scopes). Attack finding:
//! with `_count=1`, the pages holding other patients' Devices came back empty, each with
//! a `next` link, so a patient token could count another patient's Devices and Tasks.
//!
//! Through the embedded store (which pages over the visible matches itself) and through
//! the `fhir` adapter in front of a second fhirgate (whose pages the gateway walks).

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// A Device tagged `urn:f1|{tag}` naming `patient` (none: no patient).
fn device(patient: Option<&str>, tag: &str) -> Value {
    let mut device = json!({"resourceType": "Device",
        "identifier": [{"system": "urn:f1", "value": tag}]});
    if let Some(p) = patient {
        device["patient"] = json!({"reference": format!("Patient/{p}")});
    }
    device
}

/// Creates a Device at `base` (`…/fhir`) for each of `patients` in order, with a system
/// token; the ids of those the patient token may see (A's and the one naming no patient),
/// sorted.
async fn seed(base: &str, system: &str, patients: &[Option<&str>], tag: &str) -> Vec<String> {
    let mut visible = Vec::new();
    for patient in patients {
        let body = device(*patient, tag).to_string();
        let url = format!("{base}/Device");
        let answer = send(
            reqwest::Method::POST,
            &url,
            Some(system),
            Some(("application/fhir+json", body)),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        if patient.is_none_or(|p| p == A) {
            visible.push(answer.json()["id"].as_str().expect("id").to_owned());
        }
    }
    visible.sort();
    visible
}

/// Follows every `next` link from `url`: each page's Device ids. Every page answers 200,
/// carries no `total` and links only `self` and `next` (or `previous`).
async fn device_pages(url: &str, token: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut url = url.to_owned();
    loop {
        let page = send(reqwest::Method::GET, &url, Some(token), None).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        let bundle = page.json();
        assert_eq!(bundle.get("total"), None, "{}", page.body);
        out.push(page.entry_ids("Device"));
        match page.next_link() {
            Some(next) => url = next,
            None => return out,
        }
        assert!(out.len() < 20, "paging does not end");
    }
}

/// The pages hold exactly the visible Devices, `count` on each but the last, which holds
/// the rest: no empty page, no short page before the last (with `_count=1`, as many pages
/// as visible Devices).
fn assert_pages(pages: &[Vec<String>], count: usize, visible: &[String]) {
    let mut seen: Vec<String> = pages.iter().flatten().cloned().collect();
    seen.sort();
    assert_eq!(seen, visible, "{pages:?}");
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    let expected: Vec<usize> = visible.chunks(count).map(<[String]>::len).collect();
    assert_eq!(sizes, expected, "{pages:?}");
}

/// B's Devices before, between and after A's and the one naming nobody.
const ORDER: [Option<&str>; 8] = [
    Some(B),
    Some(B),
    Some(A),
    Some(B),
    Some(B),
    None,
    Some(B),
    Some(B),
];

#[tokio::test]
async fn the_store_pages_over_the_devices_the_patient_may_see() {
    store_pages(&start()).await;
}

#[tokio::test]
async fn the_postgres_store_pages_over_the_devices_the_patient_may_see() {
    // A fresh schema per run in database `test` (README: tests named `postgres`).
    let schema = format!("fg_f1_{}", uuid::Uuid::new_v4().simple());
    let auth = auth_yaml("", &json!({"keys": []}), "");
    store_pages(&support::Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: postgres://postgres@127.0.0.1:5432/test\n    schema: {schema}\n    seed: false\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n"
    )))
    .await;
}

/// Paging through `gw`'s store: see the test names.
async fn store_pages(gw: &support::Gateway) {
    let visible = seed(&gw.fhir(""), &system_token(gw), &ORDER, "store").await;
    assert_eq!(visible.len(), 2);
    let token = patient_token(gw, "patient/Device.rs");
    let search = gw.fhir("/Device?identifier=urn:f1|store");
    for sort in ["", "&_sort=_lastUpdated", "&_sort=-_lastUpdated"] {
        for count in [1, 2, 3] {
            let pages = device_pages(&format!("{search}&_count={count}{sort}"), &token).await;
            assert_pages(&pages, count, &visible);
        }
    }
    // Going back from the last page leads to the first one's Device.
    let first = get(gw, "/Device?identifier=urn:f1|store&_count=1", &token).await;
    // Its cursor is sealed by the store: it shows nothing, not even the Device's id, and
    // one the store did not seal is invalid, be it the plain text of a cursor naming
    // another patient's Device or no Device, or the earlier id-only form.
    let next = reqwest::Url::parse(&first.next_link().expect("next")).expect("url");
    let cursor = next
        .query_pairs()
        .find(|(k, _)| k == "_cursor")
        .map(|(_, v)| v.into_owned())
        .expect("_cursor");
    let decoded = URL_SAFE_NO_PAD.decode(cursor).expect("base64url");
    let shown = &first.entry_ids("Device")[0];
    assert!(!String::from_utf8_lossy(&decoded).contains(shown.as_str()));
    let system_page = get(
        gw,
        "/Device?identifier=urn:f1|store&_count=1",
        &system_token(gw),
    )
    .await;
    let of_b = &system_page.entry_ids("Device")[0];
    for text in [
        format!("sn/Device/{of_b}"),
        "sn/Device/no-such-device".to_owned(),
        format!("vn.{of_b}"),
        format!("vn.{shown}"),
    ] {
        let forged = URL_SAFE_NO_PAD.encode(&text);
        let path = format!("/Device?identifier=urn:f1|store&_count=1&_cursor={forged}");
        let answer = get(gw, &path, &token).await;
        assert_eq!(answer.status, 400, "{text}: {}", answer.body);
        assert_eq!(answer.json()["issue"][0]["diagnostics"], "invalid _cursor");
    }
    let last = send(
        reqwest::Method::GET,
        &first.next_link().expect("next"),
        Some(&token),
        None,
    )
    .await;
    let previous = last.json()["link"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["relation"] == "previous" || l["relation"] == "prev")
        .and_then(|l| l["url"].as_str())
        .map(str::to_owned)
        .expect("previous link");
    let back = send(reqwest::Method::GET, &previous, Some(&token), None).await;
    assert_eq!(back.entry_ids("Device"), first.entry_ids("Device"));
    // The system token still pages over every Device, one per page.
    let all = device_pages(&format!("{search}&_count=1"), &system_token(gw)).await;
    assert_eq!(all.len(), ORDER.len());
    // The Device a cursor names is deleted meanwhile: its page still follows on.
    let url = gw.fhir(&format!("/Device/{shown}"));
    let deleted = send(reqwest::Method::DELETE, &url, Some(&system_token(gw)), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let after = send(reqwest::Method::GET, next.as_str(), Some(&token), None).await;
    assert_eq!(after.status, 200, "{}", after.body);
    let rest: Vec<String> = visible.iter().filter(|id| *id != shown).cloned().collect();
    assert_eq!(after.entry_ids("Device"), rest);
}

/// A gateway on the embedded store requiring SMART tokens, and one in front of it with the
/// `fhir` adapter authenticating as a registered backend (as in `passthrough.rs`).
fn front_and_upstream() -> (support::Gateway, support::Gateway) {
    let port = support::free_port();
    // A P-384 key pair from `tests/peers/keygen.mjs` (node:crypto only).
    let out = std::process::Command::new("node")
        .arg(support::repo_root().join("tests/peers/keygen.mjs"))
        .args(["ES384", "front-k1"])
        .output()
        .expect("node keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_slice(&out.stdout).expect("keygen json");
    let issuer = format!("http://127.0.0.1:{port}/sandbox/auth");
    let client = format!(
        "      - client_id: front-gw\n        scope: system/*.*\n        jwks: {}\n",
        keys["jwks"]
    );
    let upstream = support::Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:{port}\n{}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n",
        support::auth_section(&issuer, &client)
    ));
    let key_file = upstream.dir.path().join("front.pem");
    std::fs::write(&key_file, keys["private_pem"].as_str().expect("pem")).expect("key");
    let front = support::Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n{}adapters:\n  ehr:\n    kind: fhir\n    base_url: {}\n    auth:\n      method: private_key_jwt\n      token_url: {issuer}/token\n      client_id: front-gw\n      private_key_file: {}\n      key_id: front-k1\n      algorithm: ES384\n      scope: system/*.*\nroutes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n",
        support::auth_section("http://fhirgate.test/sandbox/auth", ""),
        upstream.fhir(""),
        key_file.display()
    ));
    (front, upstream)
}

#[tokio::test]
async fn pages_from_another_server_are_never_empty_with_a_next_link() {
    let (front, _upstream) = front_and_upstream();
    let system = front.token("system/*.cruds");
    let visible = seed(&front.fhir(""), &system, &ORDER, "upstream").await;
    let token = front.token_with(&[
        "--scope",
        "launch/patient patient/Device.rs",
        "--patient",
        A,
    ]);
    let search = front.fhir("/Device?identifier=urn:f1|upstream");
    // The upstream's first two pages hold B's Devices: the first page shows A's instead,
    // and `next` skips B's pages to the one naming nobody; after it, only B's: no `next`.
    let pages = device_pages(&format!("{search}&_count=1"), &token).await;
    assert_pages(&pages, 1, &visible);
    let all = device_pages(&format!("{search}&_count=1"), &system).await;
    assert_eq!(all.len(), ORDER.len());
}

#[tokio::test]
async fn a_batch_search_pages_as_alone_and_a_transaction_refuses_it() {
    let gw = start();
    let visible = seed(&gw.fhir(""), &system_token(&gw), &ORDER, "batch").await;
    let token = patient_token(&gw, "patient/Device.rs patient/Observation.rs");
    let search = |method: &str| json!({"request": {"method": method, "url": "Device?identifier=urn:f1|batch&_count=1"}});
    let own = json!({"request": {"method": "GET", "url": format!("Observation?subject=Patient/{A}&_count=1")}});
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [search("GET"), own]});
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let entries = answer.json()["entry"].as_array().cloned().expect("entries");
    assert_eq!(entries.len(), 2, "{}", answer.body);
    assert_eq!(
        entries[0]["response"]["status"], "200 OK",
        "{}",
        answer.body
    );
    assert_eq!(
        entries[1]["response"]["status"], "200 OK",
        "{}",
        answer.body
    );
    assert_eq!(entries[1]["resource"]["type"], "searchset");
    // The Device search's first page holds the first Device A may see, and its `next`
    // link pages on through the others A may see, one per page.
    let page = Answer {
        status: 200,
        body: entries[0]["resource"].to_string(),
        challenge: None,
    };
    let mut pages = vec![page.entry_ids("Device")];
    pages.extend(device_pages(&page.next_link().expect("next"), &token).await);
    assert_pages(&pages, 1, &visible);

    let transaction =
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [search("GET")]});
    let answer = post_json(&gw, "", &token, &transaction).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.json()["resourceType"], "OperationOutcome");
    assert!(answer.body.contains("Bundle.entry[0]"), "{}", answer.body);
}

/// An Observation of A tagged `urn:f1|{tag}` in `category` (observation-category code).
fn categorized(category: &str, tag: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "identifier": [{"system": "urn:f1", "value": tag}],
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"text": tag}, "subject": {"reference": format!("Patient/{A}")}})
}

const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

#[tokio::test]
async fn granular_scopes_of_several_categories_page_over_what_they_grant() {
    let gw = start();
    let system = system_token(&gw);
    let mut granted = Vec::new();
    for category in ["survey", "vital-signs", "survey", "laboratory", "survey"] {
        let answer = post_json(&gw, "/Observation", &system, &categorized(category, "gran")).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        if category != "survey" {
            granted.push(answer.json()["id"].as_str().expect("id").to_owned());
        }
    }
    granted.sort();
    // Two restrictions: the search is narrowed to A, not to a category; the survey
    // Observations (A's own, not granted) neither show nor leave empty pages.
    let token = patient_token(
        &gw,
        &format!(
            "patient/Observation.rs?category={CATEGORY}|vital-signs patient/Observation.rs?category={CATEGORY}|laboratory"
        ),
    );
    let search = gw.fhir("/Observation?identifier=urn:f1|gran");
    for count in [1, 2] {
        let mut url = format!("{search}&_count={count}");
        let mut pages = Vec::new();
        loop {
            let page = send(reqwest::Method::GET, &url, Some(&token), None).await;
            assert_eq!(page.status, 200, "{url}: {}", page.body);
            pages.push(page.entry_ids("Observation"));
            match page.next_link() {
                Some(next) => url = next,
                None => break,
            }
            assert!(pages.len() < 10, "paging does not end");
        }
        assert_pages(&pages, count, &granted);
    }
}
