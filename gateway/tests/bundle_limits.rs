//! The bounds on one request's work and answer (`server.max_bundle_entries`,
//! `server.max_answer_bytes`): a batch or transaction over the entry limit is refused whole
//! with 413 `too-long` before any entry runs; a batch-response that would pass the answer
//! limit answers the entries left with 413 `too-costly`; a transaction past it is rolled
//! back with 413 `too-costly`; a search page past it ends early with a `next` link.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, fixture, run_cli, store_config};

/// Entry limit and answer limit of the gateway under test.
const ENTRIES: usize = 20;
const ANSWER: usize = 64 * 1024;

fn gateway() -> Gateway {
    Gateway::start(&store_config(&format!(
        "  max_bundle_entries: {ENTRIES}\n  max_answer_bytes: {ANSWER}B\n"
    )))
}

/// A `kind` Bundle of `n` copies of `entry`.
fn bundle(kind: &str, n: usize, entry: &Value) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": vec![entry.clone(); n]})
}

fn get(url: &str) -> Value {
    json!({"request": {"method": "GET", "url": url}})
}

/// The Device fixture without its id, created by POST.
fn create_device() -> Value {
    let mut device: Value =
        serde_json::from_slice(&fixture("fhir-r4/device-example.json")).expect("device fixture");
    device.as_object_mut().expect("object").remove("id");
    json!({"resource": device, "request": {"method": "POST", "url": "Device"}})
}

async fn post(gw: &Gateway, body: &Value) -> (StatusCode, String) {
    let r = gw
        .system_client()
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /fhir");
    let status = r.status();
    (status, r.text().await.expect("body"))
}

async fn devices(gw: &Gateway) -> Value {
    let r = gw
        .system_client()
        .get(gw.fhir("/Device?_summary=count"))
        .send()
        .await
        .expect("GET Device");
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.expect("json")["total"].clone()
}

/// Follows `page`'s `next` link (which must be there) with `c`.
async fn next_page(c: &reqwest::Client, page: &Value) -> Value {
    let next = page["link"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .expect("a next link");
    c.get(next)
        .send()
        .await
        .expect("next page")
        .json()
        .await
        .expect("json")
}

fn outcome(text: &str) -> Value {
    let body: Value = serde_json::from_str(text).expect("json");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    body["issue"][0].clone()
}

#[tokio::test]
async fn a_bundle_over_the_entry_limit_is_refused_whole_before_any_entry_runs() {
    let gw = gateway();
    let before = devices(&gw).await;
    for kind in ["batch", "transaction"] {
        let (status, text) = post(&gw, &bundle(kind, ENTRIES + 1, &create_device())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{kind}: {text}");
        let issue = outcome(&text);
        assert_eq!(issue["severity"], "error");
        assert_eq!(issue["code"], "too-long");
        assert_eq!(
            issue["diagnostics"],
            "the Bundle has 21 entries; at most 20 are accepted in one batch or transaction (server.max_bundle_entries)"
        );
    }
    assert_eq!(
        devices(&gw).await,
        before,
        "no entry of a refused Bundle ran"
    );
}

#[tokio::test]
async fn a_batch_at_the_entry_limit_is_processed() {
    let gw = gateway();
    let payer = "Organization/sandbox-payer";
    let (status, text) = post(&gw, &bundle("batch", ENTRIES, &get(payer))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["type"], "batch-response");
    let entries = body["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), ENTRIES);
    for e in entries {
        assert_eq!(e["response"]["status"], "200 OK");
        assert_eq!(e["resource"]["id"], "sandbox-payer");
    }
    let (status, text) = post(&gw, &bundle("transaction", ENTRIES, &create_device())).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn batch_entries_past_the_answer_limit_answer_413_too_costly_in_place() {
    let gw = gateway();
    let search = get("Patient?_count=3");
    // Every entry's answer has the same size: learn it from batches of one and two.
    let (_, one) = post(&gw, &bundle("batch", 1, &search)).await;
    let (_, two) = post(&gw, &bundle("batch", 2, &search)).await;
    let entry = two.len() - one.len() - 1;
    // The text before the first entry: the envelope without `"entry":[` and `]}`.
    let head = one.len() - entry - r#","entry":[]}"#.len();
    assert!(
        entry > 4096,
        "entries are large enough to reach the limit: {entry}"
    );
    // Entry i is processed while head + `,"entry":[` + i × (entry + `,`) + entry fits.
    let fits = (1..ENTRIES)
        .take_while(|i| head + 9 + i * (entry + 1) + entry <= ANSWER)
        .count()
        + 1;
    assert!(fits < ENTRIES, "the limit is reached: {fits}");
    let (status, text) = post(&gw, &bundle("batch", ENTRIES, &search)).await;
    assert_eq!(status, StatusCode::OK, "a batch-response, entry by entry");
    let body: Value = serde_json::from_str(&text).expect("json");
    let entries = body["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), ENTRIES);
    for (i, e) in entries.iter().enumerate() {
        if i < fits {
            assert_eq!(e["response"]["status"], "200 OK", "entry {i}");
            assert_eq!(e["resource"]["type"], "searchset", "entry {i}");
            continue;
        }
        assert_eq!(
            e["response"]["status"], "413 Payload Too Large",
            "entry {i}"
        );
        assert!(e.get("resource").is_none());
        let issue = &e["response"]["outcome"]["issue"][0];
        assert_eq!(issue["code"], "too-costly");
        assert_eq!(issue["expression"], json!([format!("Bundle.entry[{i}]")]));
        assert_eq!(
            issue["diagnostics"],
            format!(
                "Bundle.entry[{i}]: not processed: its answer would take the Bundle's answer past 65536 bytes (server.max_answer_bytes); send it and the entries after it in another Bundle"
            )
        );
    }
}

#[tokio::test]
async fn a_transaction_past_the_answer_limit_is_rolled_back_with_413_too_costly() {
    let gw = gateway();
    let before = devices(&gw).await;
    let mut body = bundle("transaction", ENTRIES - 1, &get("Patient?_count=3"));
    body["entry"]
        .as_array_mut()
        .expect("entries")
        .insert(0, create_device());
    let (status, text) = post(&gw, &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    let issue = outcome(&text);
    assert_eq!(issue["code"], "too-costly");
    let diagnostics = issue["diagnostics"].as_str().expect("diagnostics");
    assert!(
        diagnostics.ends_with(
            "the transaction was rolled back: its answer would pass 65536 bytes here (server.max_answer_bytes); split it into smaller transactions (writes sent with `Prefer: return=minimal` add no resource to the answer)"
        ),
        "{diagnostics}"
    );
    assert_eq!(devices(&gw).await, before, "the create was rolled back");
}

#[tokio::test]
async fn a_search_page_past_the_answer_limit_ends_early_with_a_next_link() {
    let gw = gateway();
    let c = gw.system_client();
    let page: Value = c
        .get(gw.fhir("/ExplanationOfBenefit?_count=1000"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let entries = page["entry"].as_array().expect("entries");
    assert!(page.get("total").is_none(), "more matches follow: no total");
    let sizes: Vec<usize> = entries
        .iter()
        .map(|e| e["resource"].to_string().len())
        .collect();
    let kept: usize = sizes.iter().sum();
    assert!(kept <= ANSWER, "{kept}");
    let second = next_page(&c, &page).await;
    let first_next = &second["entry"][0]["resource"];
    assert_eq!(first_next["resourceType"], "ExplanationOfBenefit");
    assert!(
        entries
            .iter()
            .all(|e| e["resource"]["id"] != first_next["id"]),
        "the next page starts after the last match kept"
    );
    assert!(
        kept + first_next.to_string().len() > ANSWER,
        "the page holds every match that fits: {kept}"
    );
    // Back from the second page: the matches nearest it that fit, i.e. the first page.
    let prev = second["link"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["relation"] == "prev")
        .and_then(|l| l["url"].as_str())
        .expect("a prev link")
        .to_owned();
    let back: Value = c
        .get(prev)
        .send()
        .await
        .expect("prev page")
        .json()
        .await
        .expect("json");
    let ids = |page: &Value| -> Vec<String> {
        page["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(ids(&back), ids(&page));
}

#[test]
fn check_config_refuses_a_zero_entry_limit_and_a_tiny_answer_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = store_config("  max_bundle_entries: 0\n  max_answer_bytes: 1KiB\n");
    std::fs::write(dir.path().join("g.yaml"), text).expect("write");
    let (code, _, stderr) = run_cli(&["check-config", "--config", "g.yaml"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "g.yaml:3: server.max_bundle_entries: must be at least 1\n\
         g.yaml:4: server.max_answer_bytes: must be at least 64KiB"
    );
}

#[tokio::test]
async fn included_resources_past_the_answer_limit_are_left_out_with_a_warning() {
    let gw = gateway();
    // The wildcard (every reference parameter) is bounded the same way.
    for include in ["Observation:patient", "*"] {
        included_past_the_limit(&gw, include).await;
    }
}

async fn included_past_the_limit(gw: &Gateway, include: &str) {
    let page: Value = gw
        .system_client()
        .get(gw.fhir(&format!("/Observation?_count=1000&_include={include}")))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let entries = page["entry"].as_array().expect("entries");
    let mode = |m: &str| {
        entries
            .iter()
            .filter(|e| e["search"]["mode"] == m)
            .collect::<Vec<_>>()
    };
    let matches = mode("match");
    assert_eq!(page["total"], matches.len(), "every match fits in one page");
    let kept: usize = matches
        .iter()
        .map(|e| e["resource"].to_string().len())
        .sum();
    let included = mode("include");
    let with_included: usize = kept
        + included
            .iter()
            .map(|e| e["resource"].to_string().len())
            .sum::<usize>();
    assert!(with_included <= ANSWER, "{include}: {with_included}");
    let outcome = mode("outcome");
    assert_eq!(outcome.len(), 1, "{include}: {page}");
    let issue = &outcome[0]["resource"]["issue"][0];
    assert_eq!(issue["severity"], "warning");
    assert_eq!(issue["code"], "too-costly");
    assert_eq!(
        issue["diagnostics"],
        "_include/_revinclude: not every included resource is in this page (at most 1000 resources, and the page within server.max_answer_bytes); use a smaller _count"
    );
}

#[tokio::test]
async fn a_patient_batch_keeps_its_refusals_and_the_size_refusals_in_place() {
    let gw = gateway();
    let buster = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
    let all: Value = gw
        .system_client()
        .get(gw.fhir("/Patient"))
        .send()
        .await
        .expect("patients")
        .json()
        .await
        .expect("json");
    let other = all["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str())
        .find(|id| *id != buster)
        .expect("a second patient")
        .to_owned();
    let token = gw.token_with(&[
        "--scope",
        "launch/patient patient/*.rs",
        "--patient",
        buster,
    ]);
    let mut body = bundle("batch", ENTRIES - 1, &get("ExplanationOfBenefit?_count=5"));
    body["entry"]
        .as_array_mut()
        .expect("entries")
        .insert(0, get(&format!("Patient/{other}")));
    let r = support::authed(&token)
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /fhir");
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.expect("json");
    let statuses: Vec<&str> = answer["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses.len(), ENTRIES);
    assert_eq!(statuses[0], "404 Not Found", "another patient's record");
    let answered = statuses[1..].iter().take_while(|s| **s == "200 OK").count();
    assert!(answered >= 1, "{statuses:?}");
    assert!(
        statuses[1 + answered..]
            .iter()
            .all(|s| *s == "413 Payload Too Large"),
        "{statuses:?}"
    );
    assert!(1 + answered < ENTRIES, "the limit is reached: {statuses:?}");
}

/// A one-shot FHIR upstream on 127.0.0.1:0 that answers every request with `body` as a
/// 200 `application/fhir+json`; its base URL.
fn upstream_answering(body: String) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    format!("http://127.0.0.1:{port}/fhir")
}

#[tokio::test]
async fn an_upstream_batch_response_past_the_answer_limit_answers_413_too_costly() {
    let observation: Value =
        serde_json::from_slice(&fixture("fhir-r4/observation-example-sample-data.json"))
            .expect("fixture");
    let answered = json!({"resource": observation, "response": {"status": "200 OK"}});
    let response = bundle("batch-response", ENTRIES, &answered).to_string();
    assert!(response.len() > ANSWER, "{}", response.len());
    let base = upstream_answering(response);
    let auth = support::auth_section("http://fhirgate.test/sandbox/auth", "");
    let gw = Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n  max_bundle_entries: {ENTRIES}\n  max_answer_bytes: {ANSWER}B\n{auth}adapters:\n  ehr:\n    kind: fhir\n    base_url: {base}\nroutes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n"
    ));
    let (status, text) = post(&gw, &bundle("batch", ENTRIES, &get("Observation/ekg"))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    let issue = outcome(&text);
    assert_eq!(issue["code"], "too-costly");
    assert_eq!(
        issue["diagnostics"],
        "the upstream's answer exceeds the limit of 65536 bytes (server.max_answer_bytes) and is not passed on; the upstream may have processed the Bundle: check before sending it again with fewer entries"
    );
}

#[tokio::test]
async fn a_history_page_past_the_answer_limit_ends_early_with_a_next_link() {
    let gw = gateway();
    let c = gw.system_client();
    let page: Value = c
        .get(gw.fhir("/ExplanationOfBenefit/_history?_count=1000"))
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(page["type"], "history");
    assert!(
        page.get("total").is_none(),
        "more versions follow: no total"
    );
    let entries = page["entry"].as_array().expect("entries");
    let kept: usize = entries
        .iter()
        .map(|e| e["resource"].to_string().len())
        .sum();
    assert!(kept <= ANSWER, "{kept}");
    let second = next_page(&c, &page).await;
    let rest = second["entry"].as_array().expect("entries");
    assert!(second.get("link").is_some());
    assert!(
        kept + rest[0]["resource"].to_string().len() > ANSWER,
        "the page holds every version that fits"
    );
    let total = entries.len() + rest.len();
    assert_eq!(total, 13, "every seeded ExplanationOfBenefit version, once");
}

#[tokio::test]
async fn an_upstream_search_page_past_the_answer_limit_answers_502_by_default() {
    let observation: Value =
        serde_json::from_slice(&fixture("fhir-r4/observation-example-sample-data.json"))
            .expect("fixture");
    let hit = json!({"resource": observation, "search": {"mode": "match"}});
    let page = bundle("searchset", ENTRIES, &hit).to_string();
    assert!(page.len() > ANSWER, "{}", page.len());
    let base = upstream_answering(page);
    let auth = support::auth_section("http://fhirgate.test/sandbox/auth", "");
    let gw = Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n  max_answer_bytes: {ANSWER}B\n{auth}adapters:\n  ehr:\n    kind: fhir\n    base_url: {base}\nroutes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n"
    ));
    let r = gw
        .system_client()
        .get(gw.fhir("/Observation?_count=20"))
        .send()
        .await
        .expect("search");
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let issue = outcome(&r.text().await.expect("body"));
    assert_eq!(issue["code"], "exception");
    assert_eq!(
        issue["diagnostics"],
        "adapter ehr: bad upstream answer: upstream Bundle larger than max_buffered_bytes (65536)"
    );
}
