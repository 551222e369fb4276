//! A conditional create (`If-None-Exist`, FHIR R4 http.html §3.1.0.8.1) whose criteria match
//! two or more of a patient-restricted caller's own resources answers the 412
//! `multiple-matches` an unrestricted caller gets, quoting the criteria as sent: never the
//! `_id=…` query the gateway used to narrow them, nor any id (attack finding LOW 16).
//! Checked on a type of the Patient compartment (Observation, whose criteria the gateway
//! narrows) and one outside it (Device), over REST and as a batch entry.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

/// `rtype` of patient A with identifier `urn:x|{value}`.
fn resource(rtype: &str, value: &str) -> Value {
    let identifier = json!([{"system": "urn:x", "value": value}]);
    match rtype {
        "Device" => json!({"resourceType": "Device", "status": "active",
            "identifier": identifier, "patient": {"reference": format!("Patient/{A}")}}),
        _ => json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "x"}, "identifier": identifier,
            "subject": {"reference": format!("Patient/{A}")}}),
    }
}

/// `POST /{rtype}` of A's `value` with `If-None-Exist: criteria`: status, content type and
/// the body as JSON.
async fn create_if(
    gw: &support::Gateway,
    token: &str,
    rtype: &str,
    value: &str,
    criteria: &str,
) -> (u16, String, Value) {
    let response = support::client()
        .post(gw.fhir(&format!("/{rtype}")))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", criteria)
        .body(resource(rtype, value).to_string())
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("text")
        .to_owned();
    (status, content_type, response.json().await.expect("json"))
}

/// Asserts `text` names none of `ids` and no `_id=` query.
fn assert_no_ids(text: &str, ids: &[String], what: &str) {
    assert!(!text.contains("_id="), "{what}: {text}");
    for id in ids {
        assert!(!text.contains(id.as_str()), "{what} names {id}: {text}");
    }
}

#[tokio::test]
async fn two_own_matches_answer_412_with_the_criteria_as_sent() {
    let gw = start();
    let patient = patient_token(&gw, "patient/*.cruds");
    let system = system_token(&gw);
    for rtype in ["Observation", "Device"] {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let created =
                post_json(&gw, &format!("/{rtype}"), &system, &resource(rtype, "two")).await;
            assert_eq!(created.status, 201, "{}", created.body);
            ids.push(created.json()["id"].as_str().expect("id").to_owned());
        }
        let criteria = "identifier=urn:x|two";
        let expected = json!({"resourceType": "OperationOutcome", "issue": [{
            "severity": "error",
            "code": "multiple-matches",
            "diagnostics": format!("If-None-Exist '{criteria}' matches more than one {rtype}")
        }]});
        for (who, token) in [("patient", &patient), ("system", &system)] {
            let (status, content_type, body) = create_if(&gw, token, rtype, "two", criteria).await;
            let what = format!("{rtype} as {who}");
            assert_eq!(status, 412, "{what}: {body}");
            assert_eq!(
                content_type, "application/fhir+json; charset=utf-8",
                "{what}"
            );
            assert_eq!(body, expected, "{what}");
            assert_no_ids(&body.to_string(), &ids, &what);
        }

        // The same as a batch entry: its outcome quotes the criteria as sent too.
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [{
            "resource": resource(rtype, "two"),
            "request": {"method": "POST", "url": rtype, "ifNoneExist": criteria}
        }]});
        let answer = post_json(&gw, "", &patient, &batch).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let entry = &answer.json()["entry"][0]["response"];
        assert_eq!(
            entry["status"], "412 Precondition Failed",
            "{rtype}: {entry}"
        );
        assert_eq!(
            entry["outcome"]["issue"][0]["diagnostics"], expected["issue"][0]["diagnostics"],
            "{rtype}: {entry}"
        );
        assert_no_ids(&answer.body, &ids, &format!("{rtype} batch"));
    }
}
