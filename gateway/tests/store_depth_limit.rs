//! Writes are bounded to the nesting the response filter can read back
//! (`fhirgate_conformance::depth::MAX_DEPTH`, 121 levels): deeper ones answer 400
//! `too-costly` for every caller (bodies at the edge, a patch's result in the store), so
//! no stored resource makes a restricted caller's
//! searches of its type fail. Attack finding MEDIUM 3 (30 Nov 2026): patient B stored a
//! Device nested 125 levels deep (201), after which every patient's Device search answered
//! 403 "the answer cannot be checked against the granted scopes".

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Most levels a resource may nest (mirrors `fhirgate_conformance::depth::MAX_DEPTH`).
const MAX_DEPTH: usize = 121;

/// A Device nesting `levels` arrays and objects (odd, at least 3), as in the attack run.
fn device(levels: usize) -> Value {
    let mut e = json!({"url": "urn:x", "valueString": "v"});
    for _ in 0..(levels - 3) / 2 {
        e = json!({"url": "urn:x", "extension": [e]});
    }
    json!({"resourceType": "Device", "status": "active", "extension": [e]})
}

fn too_costly(answer: &Answer) {
    assert_eq!(
        answer.status,
        400,
        "{}",
        &answer.body[..answer.body.len().min(300)]
    );
    assert_eq!(answer.json()["resourceType"], "OperationOutcome");
    assert_eq!(answer.json()["issue"][0]["code"], "too-costly");
}

#[tokio::test]
async fn a_write_nested_deeper_than_the_filter_reads_is_400_for_every_caller() {
    let gw = start();
    let system = system_token(&gw);
    let patient_b = cli_token(
        &gw,
        &["--scope", "launch/patient patient/*.cruds", "--patient", B],
    );
    let patient_a = patient_token(&gw, "patient/*.rs");

    // The attack's Device (125 levels) from B, and one level past the bound from a system token.
    let mut of_b = device(125);
    of_b["patient"] = json!({"reference": format!("Patient/{B}")});
    too_costly(&post_json(&gw, "/Device", &patient_b, &of_b).await);
    too_costly(&post_json(&gw, "/Device", &system, &device(MAX_DEPTH + 2)).await);

    // At the bound it is stored, and read back by a filtered search, also inside a batch
    // (the deepest answer: a searchset in a batch-response).
    let created = post_json(&gw, "/Device", &system, &device(MAX_DEPTH)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let found = get(&gw, &format!("/Device?_id={id}"), &patient_a).await;
    assert_eq!(
        found.status,
        200,
        "{}",
        &found.body[..found.body.len().min(300)]
    );
    assert_eq!(found.entry_ids("Device"), std::slice::from_ref(&id));
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Device?_id={id}")}}]});
    let answer = post_json(&gw, "", &patient_a, &batch).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.body[..answer.body.len().min(300)]
    );
    let body = answer.json();
    assert_eq!(body["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(
        body["entry"][0]["resource"]["entry"][0]["resource"]["id"],
        id.as_str()
    );

    // Made deeper by an update, or inside a transaction: refused, nothing stored.
    let mut deeper = device(MAX_DEPTH + 2);
    deeper["id"] = json!(id);
    let body = Some(("application/fhir+json", deeper.to_string()));
    let put = send(
        Method::PUT,
        &gw.fhir(&format!("/Device/{id}")),
        Some(&system),
        body,
    )
    .await;
    too_costly(&put);
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": device(MAX_DEPTH + 2), "request": {"method": "POST", "url": "Device"}}]});
    too_costly(&post_json(&gw, "", &system, &tx).await);
    // A patch whose result nests deeper (the body itself is shallow): refused by the store.
    let nest = json!([{"op": "copy", "from": "/extension", "path": "/extension/0/extension"}]);
    let body = Some(("application/json-patch+json", nest.to_string()));
    let patched = send(
        Method::PATCH,
        &gw.fhir(&format!("/Device/{id}")),
        Some(&system),
        body,
    )
    .await;
    too_costly(&patched);
    let stored = get(&gw, &format!("/Device/{id}"), &system).await;
    assert_eq!(stored.json()["meta"]["versionId"], "1");
}
