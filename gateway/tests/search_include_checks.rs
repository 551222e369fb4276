//! `_include` and `_revinclude` are checked at the edge for every caller (FHIR R4
//! search.html §3.1.1.5.4 "Including other resources", §3.1.1.5 modifiers): a modifier
//! other than `:iterate` (STU3: `:recurse`), or a value naming something that is not a
//! resource type, answers 400 `invalid` before scopes are looked at (never 403, never 200
//! ignoring it), also inside a batch entry. `Observation:focus` is searched and included.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

/// The one-issue OperationOutcome the gateway answers a malformed search with.
fn invalid(diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": diagnostics}]})
}

#[tokio::test]
async fn malformed_includes_answer_400_for_every_caller() {
    let gw = start();
    let system = system_token(&gw);
    // A patient token without `s` on any type `Foo:*` could name: still 400, not 403.
    let patient = patient_token(&gw, "patient/Observation.rs");
    let cases = [
        (
            "/Observation?_include=Observation:*:NotAType",
            "_include 'Observation:*:NotAType' names 'NotAType', which is not a resource type",
        ),
        (
            "/Observation?_include:bogus=*",
            "modifier ':bogus' is not supported on '_include' (only :iterate)",
        ),
        (
            "/Observation?_include=Observation:subject:NotAType",
            "_include 'Observation:subject:NotAType' names 'NotAType', which is not a resource type",
        ),
        (
            "/Observation?_revinclude=Foo:*",
            "_revinclude 'Foo:*' names 'Foo', which is not a resource type",
        ),
        (
            "/Observation?_include=Observation:subject:Patient:x",
            "_include 'Observation:subject:Patient:x' is not Source:param[:Target] or *",
        ),
    ];
    for (path, diagnostics) in cases {
        for token in [&system, &patient] {
            let answer = get(&gw, path, token).await;
            assert_eq!(answer.status, 400, "{path}: {}", answer.body);
            assert_eq!(answer.json(), invalid(diagnostics), "{path}");
        }
    }
    // In a batch the entry alone answers 400, naming it.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation?_include:bogus=*"}},
        {"request": {"method": "GET", "url": "Observation?_count=1"}}]});
    let answer = post_json(&gw, "", &system, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let entries = answer.json()["entry"].clone();
    assert_eq!(entries[0]["response"]["status"], "400 Bad Request");
    assert_eq!(
        entries[0]["response"]["outcome"]["issue"][0]["diagnostics"],
        "Bundle.entry[0]: request.url: modifier ':bogus' is not supported on '_include' (only :iterate)"
    );
    assert_eq!(entries[1]["response"]["status"], "200 OK");
    // Well-formed ones still answer 200, `:iterate` and its STU3 name alike.
    for path in [
        "/Observation?_count=1&_include=Observation:subject:Patient",
        "/Observation?_count=1&_include:iterate=Observation:*",
        "/Observation?_count=1&_include:recurse=Observation:subject",
    ] {
        assert_eq!(get(&gw, path, &system).await.status, 200, "{path}");
    }
}

#[tokio::test]
async fn observation_focus_is_searched_and_included() {
    let gw = start();
    let system = system_token(&gw);
    let condition = first_id(&gw, &format!("/Condition?patient={A}")).await;
    let focused = json!({"resourceType": "Observation", "status": "final", "code": {"text": "focus"},
        "subject": {"reference": format!("Patient/{A}")},
        "focus": [{"reference": format!("Condition/{condition}")}]});
    let created = post_json(&gw, "/Observation", &system, &focused).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();

    let found = get(
        &gw,
        &format!("/Observation?focus=Condition/{condition}"),
        &system,
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.entry_ids("Observation"), vec![id.clone()]);
    let included = get(
        &gw,
        &format!("/Observation?_id={id}&_include=Observation:focus"),
        &system,
    )
    .await;
    assert_eq!(included.entry_ids("Condition"), vec![condition.clone()]);
    // A's own token sees the same (the Observation and the Condition are A's).
    let patient = patient_token(&gw, "patient/*.rs");
    let mine = get(
        &gw,
        &format!("/Observation?focus=Condition/{condition}&_include=Observation:focus"),
        &patient,
    )
    .await;
    assert_eq!(mine.entry_ids("Observation"), vec![id]);
    assert_eq!(mine.entry_ids("Condition"), vec![condition]);
}
