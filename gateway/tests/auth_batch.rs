//! Batch and transaction Bundles under a patient token (FHIR R4 http.html §3.1.0.11.1):
//! a batch is processed entry by entry — the entries the caller may perform are answered
//! by the store, each refused one by exactly the status and OperationOutcome the same
//! request alone would get, in its place — while a transaction stays atomic (one refused
//! entry refuses it whole, 403). Refused entries never reach the adapter.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use std::sync::{Arc, Mutex};

use auth_support::*;
use serde_json::{Value, json};

const RS: &str = "patient/*.rs";

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn entry(method: &str, url: &str) -> Value {
    json!({"request": {"method": method, "url": url}})
}

fn entries(answer: &Answer) -> Vec<Value> {
    answer.json()["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A POST of an Observation of patient B, marked with `marker` (its `code.text`).
fn observation_of_b(marker: &str) -> Value {
    json!({"request": {"method": "POST", "url": "Observation"}, "resource": {"resourceType": "Observation",
        "status": "final", "code": {"text": marker}, "subject": {"reference": format!("Patient/{B}")}}})
}

/// Asserts `entry` is the refusal `single` (the answer to the same request alone) gets:
/// same status, and an OperationOutcome with the same issue code and diagnostics.
fn assert_same_refusal(entry: &Value, single: &Answer, status_line: &str) {
    assert_eq!(entry["response"]["status"], status_line, "{entry}");
    assert!(
        entry.get("resource").is_none(),
        "a refusal carries no data: {entry}"
    );
    let outcome = &entry["response"]["outcome"];
    let alone = single.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(
        outcome["issue"], alone["issue"],
        "same issue as the single request"
    );
}

#[tokio::test]
async fn batch_answers_each_entry_and_refuses_only_b() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let batch = bundle(
        "batch",
        vec![
            entry("GET", &format!("Patient/{A}")),
            entry("GET", &format!("Patient/{B}")),
            entry("GET", &format!("Observation?patient={A}&_count=50")),
        ],
    );
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    let body = answer.json();
    assert_eq!(body["type"], "batch-response");
    let entries = entries(&answer);
    assert_eq!(entries.len(), 3, "{}", answer.body);

    assert!(
        entries[0]["response"]["status"]
            .as_str()
            .expect("status")
            .starts_with("200")
    );
    assert_eq!(entries[0]["resource"]["resourceType"], "Patient");
    assert_eq!(entries[0]["resource"]["id"], A);

    // Patient B alone reads as 404 not-found, exactly like a missing Patient: the same here.
    let single = get(&gw, &format!("/Patient/{B}"), &token).await;
    assert_eq!(single.status, 404);
    assert_same_refusal(&entries[1], &single, "404 Not Found");
    assert_eq!(
        entries[1]["response"]["outcome"]["issue"][0]["code"],
        "not-found"
    );

    assert!(
        entries[2]["response"]["status"]
            .as_str()
            .expect("status")
            .starts_with("200")
    );
    let searchset = &entries[2]["resource"];
    assert_eq!(searchset["type"], "searchset");
    let found = searchset["entry"].as_array().cloned().unwrap_or_default();
    assert!(!found.is_empty(), "A's Observations are answered");
    for e in &found {
        assert_eq!(e["resource"]["resourceType"], "Observation");
        assert_eq!(
            e["resource"]["subject"]["reference"],
            format!("Patient/{A}"),
            "only A's data"
        );
    }
}

#[tokio::test]
async fn batch_entry_naming_b_is_403_like_the_single_request() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let by_subject = format!("Observation?subject=Patient/{B}");
    let batch = bundle(
        "batch",
        vec![
            entry("GET", &by_subject),
            entry("GET", &format!("Patient/{A}")),
            entry("GET", "http://elsewhere.example/fhir/Patient"),
        ],
    );
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    let entries = entries(&answer);
    assert_eq!(entries.len(), 3, "{}", answer.body);
    let single = get(&gw, &format!("/{by_subject}"), &token).await;
    assert_eq!(single.status, 403, "{}", single.body);
    assert_same_refusal(&entries[0], &single, "403 Forbidden");
    assert_eq!(
        entries[0]["response"]["outcome"]["issue"][0]["code"],
        "forbidden"
    );
    assert_eq!(entries[1]["resource"]["id"], A);
    assert_eq!(entries[2]["response"]["status"], "403 Forbidden");
    assert_eq!(
        entries[2]["response"]["outcome"]["issue"][0]["diagnostics"],
        "request.url points outside this server"
    );
}

#[tokio::test]
async fn transaction_with_one_refused_entry_is_refused_whole() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let transaction = bundle(
        "transaction",
        vec![
            entry("GET", &format!("Patient/{A}")),
            entry("GET", &format!("Patient/{B}")),
            entry("GET", &format!("Observation?patient={A}")),
        ],
    );
    let answer = post_json(&gw, "", &token, &transaction).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    answer.assert_no_b(&[]);
    let outcome = answer.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "forbidden");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .expect("diagnostics")
            .starts_with("Bundle.entry[1]: "),
        "{}",
        answer.body
    );
    assert!(
        !answer.body.contains(A),
        "nothing of the transaction was performed"
    );
}

#[tokio::test]
async fn batch_with_every_entry_refused_forwards_nothing() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.crs");
    let marker = format!("fhirgate-batch-refused-{}", now());
    let by_subject = format!("Observation?subject=Patient/{B}");
    let batch = bundle(
        "batch",
        vec![
            observation_of_b(&marker),
            entry("GET", &by_subject),
            entry("GET", &format!("Patient/{A}")),
        ],
    );
    let raw = support::client()
        .post(gw.fhir(""))
        .bearer_auth(&token)
        .header("content-type", "application/fhir+json")
        .body(batch.to_string())
        .send()
        .await
        .expect("batch");
    assert_eq!(raw.status(), 200);
    assert_eq!(
        raw.headers()["content-type"],
        "application/fhir+json; charset=utf-8"
    );
    assert!(raw.headers().contains_key("x-request-id"));
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    assert_eq!(answer.json()["type"], "batch-response");
    let entries = entries(&answer);
    assert_eq!(entries.len(), 3, "{}", answer.body);

    let write = observation_of_b(&marker)["resource"].clone();
    let singles = [
        post_json(&gw, "/Observation", &token, &write).await,
        get(&gw, &format!("/{by_subject}"), &token).await,
        get(&gw, &format!("/Patient/{A}"), &token).await,
    ];
    for (entry, single) in entries.iter().zip(&singles) {
        assert_eq!(single.status, 403, "{}", single.body);
        assert_same_refusal(entry, single, "403 Forbidden");
    }

    // Neither the batch nor the single POST created B's Observation; the control written
    // with a system token shows the search would find one.
    let control = format!("{marker}-control");
    let written = post_json(
        &gw,
        "/Observation",
        &system_token(&gw),
        &observation_of_b(&control)["resource"],
    )
    .await;
    assert_eq!(written.status, 201, "{}", written.body);
    let stored = get(
        &gw,
        &format!("/Observation?subject=Patient/{B}&_count=1000&_sort=-_lastUpdated"),
        &system_token(&gw),
    )
    .await;
    assert_eq!(stored.status, 200);
    assert!(stored.body.contains(&control), "control not found");
    assert!(
        !stored.body.contains(&format!("\"{marker}\"")),
        "B's Observation was created"
    );
}

#[tokio::test]
async fn batch_delete_of_b_observation_answers_as_the_single_request() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.cruds");
    let id = first_id(&gw, &format!("/Observation?subject=Patient/{B}")).await;
    let paths = [
        format!("Observation/{id}"),
        "Observation/does-not-exist".to_owned(),
    ];
    let batch = bundle("batch", paths.iter().map(|p| entry("DELETE", p)).collect());
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[&id]);
    let entries = entries(&answer);
    assert_eq!(entries.len(), 2, "{}", answer.body);
    assert_eq!(entries[0]["response"]["status"], "404 Not Found");
    for (entry, path) in entries.iter().zip(&paths) {
        let single = send(
            reqwest::Method::DELETE,
            &gw.fhir(&format!("/{path}")),
            Some(&token),
            None,
        )
        .await;
        let status = entry["response"]["status"].as_str().unwrap_or("");
        assert!(
            status.starts_with(&single.status.to_string()),
            "{path}: batch {status}, alone {}",
            single.status
        );
    }
    let still = get(&gw, &format!("/Observation/{id}"), &system_token(&gw)).await;
    assert_eq!(still.status, 200, "B's Observation is untouched");
}

/// An upstream FHIR server that answers every request with `answer` and records the
/// request bodies it got.
async fn fake_upstream(answer: Value) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let recorded = recorded.clone();
        let answer = answer.clone();
        async move {
            recorded.lock().expect("lock").push(body);
            (
                [("content-type", "application/fhir+json")],
                answer.to_string(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/fhir"), seen)
}

#[tokio::test]
async fn batch_answer_that_cannot_be_placed_is_502() {
    // Two answers for the one entry forwarded: the gateway cannot tell which is whose.
    let two = json!({"resourceType": "Bundle", "type": "batch-response", "entry": [
        {"response": {"status": "200 OK"}}, {"response": {"status": "200 OK"}}]});
    let (upstream, seen) = fake_upstream(two).await;
    let auth = support::auth_section("http://fhirgate.test/sandbox/auth", "");
    let gw = support::Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  ehr:\n    kind: fhir\n    base_url: {upstream}\n    timeout_seconds: 5\nroutes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n"
    ));
    let token = gw.token_with(&["--scope", "launch/patient patient/*.rs", "--patient", A]);
    let batch = bundle(
        "batch",
        vec![
            entry("GET", &format!("Patient/{B}")),
            entry("GET", &format!("Patient/{A}")),
        ],
    );
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    let outcome = answer.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "exception");
    let seen = seen.lock().expect("lock").clone();
    let forwarded: Vec<&String> = seen.iter().filter(|b| b.contains("batch")).collect();
    assert_eq!(forwarded.len(), 1, "{seen:?}");
    let sent: Value = serde_json::from_str(forwarded[0]).expect("sent JSON");
    assert_eq!(sent["type"], "batch");
    assert_eq!(
        sent["entry"],
        json!([entry("GET", &format!("Patient/{A}"))]),
        "only the permitted entry reaches the upstream"
    );
}

#[tokio::test]
async fn an_unknown_operation_entry_answers_as_the_single_request() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let single = get(&gw, &format!("/Patient/{A}/$nope"), &token).await;
    assert_eq!(single.status, 404, "{}", single.body);
    let batch = bundle(
        "batch",
        vec![
            entry("GET", &format!("Patient/{A}")),
            entry("GET", &format!("Patient/{A}/$nope")),
        ],
    );
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let entries = entries(&answer);
    assert_eq!(entries.len(), 2, "{}", answer.body);
    assert_same_refusal(&entries[1], &single, "404 Not Found");
    assert_eq!(
        entries[1]["response"]["outcome"]["issue"][0]["code"],
        "not-supported"
    );
    // In a transaction the same entry refuses the whole Bundle with that answer.
    let transaction = bundle(
        "transaction",
        vec![entry("GET", &format!("Patient/{A}/$nope"))],
    );
    let answer = post_json(&gw, "", &token, &transaction).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(answer.json()["issue"][0]["code"], "not-supported");
}

#[tokio::test]
async fn a_withheld_entry_and_a_missing_one_answer_the_same() {
    let gw = start();
    let token = patient_token(&gw, RS);
    // B's Observation can only be told apart from a missing one by comparing answers.
    let b_observation = first_id(&gw, &format!("/Observation?patient={B}")).await;
    let batch = bundle(
        "batch",
        vec![
            entry("GET", &format!("Observation/{b_observation}")),
            entry("GET", "Observation/no-such-observation"),
        ],
    );
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[&b_observation]);
    let entries = entries(&answer);
    assert_eq!(entries.len(), 2, "{}", answer.body);
    assert_eq!(entries[0]["response"]["status"], "404 Not Found");
    assert_eq!(entries[0], entries[1], "withheld and missing look the same");
    let single = get(&gw, &format!("/Observation/{b_observation}"), &token).await;
    assert_same_refusal(&entries[0], &single, "404 Not Found");
}

#[tokio::test]
async fn if_none_exist_in_an_entry_is_a_search_checked_like_the_header() {
    let gw = start();
    // Create-only: no search at all, as over REST, where If-None-Exist then answers 403.
    let writer = patient_token(&gw, "patient/Observation.c");
    let mut probe = observation_of_b("probe");
    probe["resource"]["subject"]["reference"] = json!(format!("Patient/{A}"));
    probe["request"]["ifNoneExist"] = json!(format!("subject=Patient/{B}&code=33914-3"));
    for kind in ["batch", "transaction"] {
        let answer = post_json(&gw, "", &writer, &bundle(kind, vec![probe.clone()])).await;
        let status = if kind == "batch" {
            assert_eq!(answer.status, 200, "{}", answer.body);
            entries(&answer)[0]["response"]["status"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        } else {
            answer.status.to_string()
        };
        assert!(status.starts_with("403"), "{kind}: {}", answer.body);
    }
    // With search granted, criteria naming another patient are refused; own ones narrowed.
    let token = patient_token(&gw, "patient/Observation.crs");
    let answer = post_json(&gw, "", &token, &bundle("batch", vec![probe.clone()])).await;
    assert!(
        entries(&answer)[0]["response"]["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("403"),
        "{}",
        answer.body
    );
    probe["request"]["ifNoneExist"] = json!("code=33914-3");
    let answer = post_json(&gw, "", &token, &bundle("batch", vec![probe])).await;
    // Only A's data is searched: B's three 33914-3 Observations do not make it a 412.
    assert!(
        entries(&answer)[0]["response"]["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("201"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn conditional_references_and_conditional_reads_are_not_for_restricted_callers() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.crs");
    let mut linked = observation_of_b("linked");
    linked["resource"]["subject"]["reference"] = json!(format!("Patient/{A}"));
    linked["resource"]["hasMember"] =
        json!([{"reference": format!("Observation?patient={B}&code=33914-3")}]);
    let answer = post_json(&gw, "", &token, &bundle("transaction", vec![linked])).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("conditional references"),
        "{}",
        answer.body
    );
    // A conditional read of B's Observation answers as a plain read: 404, never a 304.
    let b_observation = first_id(&gw, &format!("/Observation?patient={B}")).await;
    let mut read = entry("GET", &format!("Observation/{b_observation}"));
    read["request"]["ifNoneMatch"] = json!("W/\"1\"");
    let answer = post_json(&gw, "", &token, &bundle("batch", vec![read])).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(entries(&answer)[0]["response"]["status"], "404 Not Found");
}

#[tokio::test]
async fn forwarded_entries_keep_their_own_index_and_a_post_search_stays_a_search() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.cruds");
    let invalid = json!({"request": {"method": "POST", "url": "Observation"}, "resource": {
        "resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "subject": {"reference": format!("Patient/{A}")}, "colour": "red"}});
    let batch = bundle(
        "batch",
        vec![
            entry("GET", &format!("Observation?subject=Patient/{B}")),
            entry("POST", "Observation/_search?category=vital-signs"),
            invalid,
        ],
    );
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let entries = entries(&answer);
    assert_eq!(entries[0]["response"]["status"], "403 Forbidden");
    assert_eq!(entries[1]["response"]["status"], "200 OK", "{}", entries[1]);
    assert_eq!(entries[1]["resource"]["type"], "searchset");
    assert!(
        !entries[1]["resource"]["entry"]
            .as_array()
            .expect("matches")
            .is_empty()
    );
    assert!(
        entries[2]["response"]["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("400")
    );
    let issue = &entries[2]["response"]["outcome"]["issue"][0];
    assert_eq!(
        issue["expression"][0], "Bundle.entry[2].resource.colour",
        "{issue}"
    );
    assert!(
        issue["diagnostics"]
            .as_str()
            .unwrap_or("")
            .starts_with("Bundle.entry[2]")
    );
}
