//! A JSON Patch body (RFC 6902) that repeats a member name in one object answers 400
//! `invalid` at the edge, for every caller and before anything is looked up, as a FHIR JSON
//! body does (RFC 8259 §4: names SHOULD be unique, and parsers differ on which one counts;
//! attack finding LOW N5: `{"path":"/subject/reference","path":"/status"}` reached the
//! patch check, which reads the last, and an upstream that may read the first). The text
//! names the repeated member, never its values. A patch that is not JSON at all answers
//! 400 `structure` at the edge, for every caller.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const JSON_PATCH: &str = "application/json-patch+json";

/// Creates an Observation of `patient` with a system token; its id.
async fn observation(gw: &support::Gateway, patient: &str) -> String {
    let body = json!({"resourceType": "Observation", "status": "final", "code": {"text": "n5"},
        "subject": {"reference": format!("Patient/{patient}")}});
    let answer = post_json(gw, "/Observation", &system_token(gw), &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

async fn patch(gw: &support::Gateway, id: &str, token: &str, body: &str) -> Answer {
    let url = gw.fhir(&format!("/Observation/{id}"));
    send(
        Method::PATCH,
        &url,
        Some(token),
        Some((JSON_PATCH, body.to_owned())),
    )
    .await
}

/// The OperationOutcome of `answer`, asserted `status` and `code`; its diagnostics.
fn outcome(answer: &Answer, status: u16, code: &str) -> String {
    assert_eq!(answer.status, status, "{}", answer.body);
    let body: Value = answer.json();
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
    body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The stored `meta.versionId` of Observation `id`.
async fn version(gw: &support::Gateway, id: &str) -> Value {
    let answer = get(gw, &format!("/Observation/{id}"), &system_token(gw)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["meta"]["versionId"].clone()
}

#[tokio::test]
async fn a_repeated_member_in_a_patch_answers_400_for_every_caller() {
    let gw = start();
    let own = observation(&gw, A).await;
    let of_b = observation(&gw, B).await;
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    let twice = [
        (
            "path",
            r#"[{"op":"replace","path":"/subject/reference","path":"/status","value":"amended"}]"#,
        ),
        (
            "op",
            r#"[{"op":"test","op":"replace","path":"/status","value":"amended"}]"#,
        ),
        (
            "value",
            r#"[{"op":"replace","path":"/status","value":"amended","value":"final"}]"#,
        ),
        // Inside a value too: the upstream would store one of the two.
        (
            "text",
            r#"[{"op":"replace","path":"/code","value":{"text":"one","text":"two"}}]"#,
        ),
    ];
    for (name, body) in twice {
        // The caller's own and another patient's (before its visibility is looked up): the
        // same 400. (A token whose scopes allow no patch is refused before the body is read.)
        for (token, id) in [(&system, &own), (&writer, &own), (&writer, &of_b)] {
            let answer = patch(&gw, id, token, body).await;
            let text = outcome(&answer, 400, "invalid");
            assert!(
                text.starts_with(&format!(
                    "body is not a valid JSON Patch document: property \"{name}\" appears twice in one object (RFC 8259 §4)"
                )),
                "{text}"
            );
            for value in ["/subject/reference", "amended", "\"one\"", "two"] {
                assert!(!text.contains(value), "a value in {text}");
            }
        }
    }
    assert_eq!(version(&gw, &own).await, "1");
    assert_eq!(version(&gw, &of_b).await, "1");
    // The same operations without the repetition apply.
    let once = r#"[{"op":"replace","path":"/status","value":"amended"}]"#;
    let answer = patch(&gw, &own, &writer, once).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "amended");
    assert_eq!(version(&gw, &own).await, "2");
}

#[tokio::test]
async fn a_patch_that_is_not_json_answers_400_structure_for_every_caller() {
    let gw = start();
    let own = observation(&gw, A).await;
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    for token in [&system, &writer] {
        let answer = patch(&gw, &own, token, r#"[{"op":"replace",}]"#).await;
        let text = outcome(&answer, 400, "structure");
        assert!(
            text.starts_with("malformed JSON at line 1, column 18: trailing comma"),
            "{text}"
        );
    }
    assert_eq!(version(&gw, &own).await, "1");
}
