//! Malformed batch and transaction Bundles and entries (FHIR R4 http.html §3.1.0.11):
//! a Bundle whose `entry` is not an array is invalid (json.html: repeating elements are
//! arrays), 400 whole; a malformed entry (no `request`, a method that is not an http-verb
//! code, an id that is not a FHIR id, a url naming no interaction, a query that is not
//! UTF-8 once percent-decoded, RFC 3986 §2.5) is answered 400 in its place in a batch
//! (§3.1.0.11.1, entries are independent) and fails a transaction whole with 400; no
//! diagnostic echoes more than a clipped piece of client input. A batch's RateLimit
//! headers report the quota left after its entries' charge; a search modifier FHIR does
//! not define answers 400 for every caller.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::{A, Answer, patient_token, post_json, start, system_token};
use serde_json::{Value, json};

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn entry(method: &str, url: &str) -> Value {
    json!({"request": {"method": method, "url": url}})
}

/// The OperationOutcome of one `invalid` error with `diagnostics`.
fn invalid(diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": diagnostics}]})
}

/// Asserts `answer` is 400 with exactly the `invalid` OperationOutcome of `diagnostics`.
fn assert_400(answer: &Answer, diagnostics: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json(), invalid(diagnostics));
}

/// Asserts batch-response `entry` answers 400 with the `invalid` outcome of `diagnostics`.
fn assert_entry_400(entry: &Value, diagnostics: &str) {
    assert_eq!(
        entry,
        &json!({"response": {"status": "400 Bad Request", "outcome": invalid(diagnostics)}})
    );
}

const NOT_AN_ARRAY: &str = "Bundle.entry must be an array of entries (FHIR R4 json.html: repeating elements are JSON arrays)";

#[tokio::test]
async fn a_bundle_whose_entry_is_not_an_array_or_whose_type_is_wrong_answers_400() {
    let gw = start();
    for token in [system_token(&gw), patient_token(&gw, "patient/*.rs")] {
        for kind in ["batch", "transaction"] {
            for bad in [
                json!({"request": {"method": "GET", "url": "Patient"}}),
                json!("x"),
                Value::Null,
            ] {
                let body = json!({"resourceType": "Bundle", "type": kind, "entry": bad});
                let answer = post_json(&gw, "", &token, &body).await;
                assert_400(&answer, NOT_AN_ARRAY);
            }
        }
        for body in [
            json!({"resourceType": "Bundle", "entry": []}),
            json!({"resourceType": "Bundle", "type": "collection", "entry": []}),
        ] {
            let answer = post_json(&gw, "", &token, &body).await;
            assert_400(
                &answer,
                "POST to the base takes a Bundle of type batch or transaction",
            );
        }
    }
}

fn q_diag(index: usize, position: usize, name: Option<&str>) -> String {
    let what = match name {
        Some(n) => format!("the value of query parameter {position} ({n})"),
        None => format!("the name of query parameter {position}"),
    };
    format!(
        "Bundle.entry[{index}]: request.url: {what} is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)"
    )
}

#[tokio::test]
async fn undecodable_entry_urls_answer_400_in_place_in_a_batch_and_fail_a_transaction() {
    let gw = start();
    for token in [system_token(&gw), patient_token(&gw, "patient/*.rs")] {
        let batch = bundle(
            "batch",
            vec![
                entry("GET", "Patient?na%ffme=x"),
                entry("GET", "Observation?code=%ff%fe"),
                entry("GET", "Patient/%ff"),
                entry("GET", &format!("Patient/{A}/_history?_since=%ff")),
                entry("GET", &format!("Patient/{A}")),
            ],
        );
        let answer = post_json(&gw, "", &token, &batch).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = answer.json();
        assert_eq!(body["type"], "batch-response");
        let entries = body["entry"].as_array().expect("entries");
        assert_eq!(entries.len(), 5, "{body}");
        assert_entry_400(&entries[0], &q_diag(0, 1, None));
        assert_entry_400(&entries[1], &q_diag(1, 1, Some("code")));
        assert_entry_400(
            &entries[2],
            "Bundle.entry[2]: request.url: '%ff' is not a valid FHIR id ([A-Za-z0-9-.]{1,64})",
        );
        assert_entry_400(&entries[3], &q_diag(3, 1, Some("_since")));
        assert_eq!(entries[4]["response"]["status"], "200 OK", "{body}");
        assert_eq!(entries[4]["resource"]["id"], A);

        let transaction = bundle(
            "transaction",
            vec![
                entry("GET", &format!("Patient/{A}")),
                entry("GET", "Patient?na%ffme=x"),
            ],
        );
        let answer = post_json(&gw, "", &token, &transaction).await;
        assert_400(&answer, &q_diag(1, 1, None));
    }
}

#[tokio::test]
async fn malformed_entries_answer_400_in_place_in_a_batch_and_fail_a_transaction_whole() {
    let gw = start();
    let long = "a".repeat(100_000);
    let clipped = format!("{}…", "a".repeat(100));
    for token in [system_token(&gw), patient_token(&gw, "patient/*.rs")] {
        let batch = bundle(
            "batch",
            vec![
                entry("GET", &format!("Patient/{long}")),
                json!({"fullUrl": "urn:uuid:0d9a2c5e-2f7e-4b43-9f8e-1e2b3c4d5e6f"}),
                entry("get", &format!("Patient/{A}")),
                entry("FETCH", &format!("Patient/{A}")),
                entry("GET", "Patient/x/Observation"),
                entry("GET", &format!("Patient/{A}")),
            ],
        );
        let answer = post_json(&gw, "", &token, &batch).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(
            answer.body.len() < 8_000,
            "the 100 KB id is not echoed: {} bytes",
            answer.body.len()
        );
        let body = answer.json();
        let entries = body["entry"].as_array().expect("entries");
        assert_eq!(entries.len(), 6, "{body}");
        assert_entry_400(
            &entries[0],
            &format!(
                "Bundle.entry[0]: request.url: '{clipped}' is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})"
            ),
        );
        let method = |i: usize| {
            format!(
                "Bundle.entry[{i}]: request.method is missing or not an HTTP verb of FHIR (GET, HEAD, POST, PUT, DELETE, PATCH)"
            )
        };
        assert_entry_400(&entries[1], &method(1));
        assert_entry_400(&entries[2], &method(2));
        assert_entry_400(&entries[3], &method(3));
        assert_entry_400(
            &entries[4],
            "Bundle.entry[4]: request.url: /Patient/x/Observation names no FHIR interaction",
        );
        assert_eq!(entries[5]["response"]["status"], "200 OK", "{body}");
        assert_eq!(entries[5]["resource"]["id"], A);

        let transaction = bundle(
            "transaction",
            vec![
                entry("GET", &format!("Patient/{A}")),
                entry("GET", &format!("Patient/{long}")),
            ],
        );
        let answer = post_json(&gw, "", &token, &transaction).await;
        assert!(answer.body.len() < 1_000, "{} bytes", answer.body.len());
        assert_400(
            &answer,
            &format!(
                "Bundle.entry[1]: request.url: '{clipped}' is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})"
            ),
        );
        let transaction = bundle("transaction", vec![entry("get", &format!("Patient/{A}"))]);
        let answer = post_json(&gw, "", &token, &transaction).await;
        assert_400(&answer, &method(0));
    }
}

#[tokio::test]
async fn an_undefined_modifier_on_id_answers_400_for_every_caller() {
    let gw = start();
    let patient = patient_token(&gw, "patient/*.rs");
    let system = system_token(&gw);
    for modifier in ["exact", "bogus"] {
        let diagnostics = format!("modifier ':{modifier}' is not supported on '_id'");
        for token in [&patient, &system] {
            let answer =
                auth_support::get(&gw, &format!("/Patient?_id:{modifier}={A}"), token).await;
            assert_400(&answer, &diagnostics);
            let batch = bundle(
                "batch",
                vec![entry("GET", &format!("Patient?_id:{modifier}={A}"))],
            );
            let answer = post_json(&gw, "", token, &batch).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_entry_400(
                &answer.json()["entry"][0],
                &format!("Bundle.entry[0]: request.url: {diagnostics}"),
            );
        }
    }
    // On a reference the compartment is narrowed by, a modifier only strings take is as
    // malformed (`subject:exact`), for both callers.
    for token in [&patient, &system] {
        let answer = auth_support::get(
            &gw,
            &format!("/Observation?subject:exact=Patient/{A}"),
            token,
        )
        .await;
        assert_400(&answer, "modifier ':exact' is not supported on 'subject'");
    }
    // A conditional create's If-None-Exist is a search too: checked alike, and decoded
    // strictly.
    for (criteria, diagnostics) in [
        (
            format!("_id:exact={A}"),
            "If-None-Exist: modifier ':exact' is not supported on '_id'".to_owned(),
        ),
        (
            "identifier=%ff".to_owned(),
            "If-None-Exist: the value of query parameter 1 (identifier) is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)".to_owned(),
        ),
    ] {
        for token in [&patient, &system] {
            let r = support::client()
                .post(gw.fhir("/Patient"))
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .header("if-none-exist", &criteria)
                .body(json!({"resourceType": "Patient"}).to_string())
                .send()
                .await
                .expect("send");
            assert_eq!(r.status().as_u16(), 400);
            let body: Value = r.json().await.expect("json");
            assert_eq!(body, invalid(&diagnostics));
        }
    }
    // A modifier FHIR defines but whose result a patient token cannot bound stays 403.
    let answer = auth_support::get(&gw, &format!("/Patient?_id:not={A}"), &patient).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn a_bundles_ratelimit_headers_report_the_quota_left_after_its_entries() {
    let config = format!(
        "{}rate_limits:\n  default: {{per_second: 1, burst: 3}}\n  clients:\n    app-c: {{per_second: 1, burst: 6}}\naudit:\n  fsync: false\n",
        support::store_config("")
    );
    let gw = support::Gateway::start(&config);
    let token = gw.token_with(&["--scope", "system/*.rs", "--client-id", "app-c"]);
    let c = support::authed(&token);
    let read = entry("GET", "Organization/sandbox-payer");
    let post = |kind: &str, n: usize| {
        c.post(gw.fhir(""))
            .header("content-type", "application/fhir+json")
            .body(bundle(kind, vec![read.clone(); n]).to_string())
            .send()
    };
    // 6 available: the request's 1, then its 3 entries' 2 more: 3 left.
    let r = post("batch", 3).await.expect("send");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(header(&r, "ratelimit-limit"), "6");
    assert_eq!(header(&r, "ratelimit-remaining"), "3");
    // A transaction of 2 reads: 1 + 1 more, 1 left.
    let r = post("transaction", 2).await.expect("send");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(header(&r, "ratelimit-remaining"), "1");
    // A single request is charged 1 by the layer alone: none left.
    let r = c
        .get(gw.fhir("/Organization/sandbox-payer"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(header(&r, "ratelimit-remaining"), "0");
}
