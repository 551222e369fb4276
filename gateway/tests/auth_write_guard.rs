//! A patient-restricted caller changes only what is theirs and names no other patient, and
//! only into something that still names none (SMART App Launch 2.x §3.1, FHIR R4 http.html
//! §3.1.0.4 update, §3.1.0.5 patch, §3.1.0.7 delete). A JSON Patch is checked by its result
//! before anything is stored: moving another patient's id into `subject`, or removing
//! `subject`, answers 403 and the stored version stays 1. A resource naming no patient is
//! a shared record: a `patient/` token neither creates, changes nor deletes one.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const WRITE: &str = "patient/*.cruds";
const JSON_PATCH: &str = "application/json-patch+json";

/// Creates `resource` of `rt` with a system token; its id.
async fn create(gw: &support::Gateway, rt: &str, resource: &Value) -> String {
    let answer = post_json(gw, &format!("/{rt}"), &system_token(gw), resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

async fn patch(gw: &support::Gateway, path: &str, token: &str, ops: &Value) -> Answer {
    let body = Some((JSON_PATCH, ops.to_string()));
    send(Method::PATCH, &gw.fhir(path), Some(token), body).await
}

/// The stored version of `rt/id`, as a system token reads it.
async fn version(gw: &support::Gateway, rt: &str, id: &str) -> String {
    let answer = get(gw, &format!("/{rt}/{id}"), &system_token(gw)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["meta"]["versionId"]
        .as_str()
        .expect("version")
        .to_owned()
}

fn own_observation() -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "mine"},
        "identifier": [{"system": "urn:guard", "value": "own"}],
        "subject": {"reference": format!("Patient/{A}")},
        "note": [{"text": format!("Patient/{B}")}]})
}

#[tokio::test]
async fn a_patch_whose_result_names_another_patient_or_none_is_403_and_stores_nothing() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let id = create(&gw, "Observation", &own_observation()).await;
    let path = format!("/Observation/{id}");
    let refused = [
        json!([{"op": "copy", "from": "/note/0/text", "path": "/subject/reference"}]),
        json!([{"op": "remove", "path": "/subject"}]),
        json!([{"op": "add", "path": "/performer", "value": [{"reference": format!("Patient/{B}")}]}]),
    ];
    for ops in &refused {
        let answer = patch(&gw, &path, &token, ops).await;
        assert_eq!(answer.status, 403, "{ops}: {}", answer.body);
        assert_eq!(answer.json()["resourceType"], "OperationOutcome");
    }
    // The same through a condition and inside a transaction: refused before anything runs.
    let answer = patch(
        &gw,
        "/Observation?identifier=urn:guard|own",
        &token,
        &refused[0],
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let binary = json!({"resourceType": "Binary", "contentType": JSON_PATCH,
        "data": base64_of(&refused[0].to_string())});
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": binary, "request": {"method": "PATCH", "url": format!("Observation/{id}")}}]});
    let answer = post_json(&gw, "", &token, &tx).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(version(&gw, "Observation", &id).await, "1");

    // A patch that keeps the Observation A's goes through, checked and pinned.
    let ok = json!([{"op": "replace", "path": "/status", "value": "amended"}]);
    let answer = patch(&gw, &path, &token, &ok).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "amended");
    assert_eq!(version(&gw, "Observation", &id).await, "2");
}

#[tokio::test]
async fn a_patch_that_fails_or_is_not_json_patch_answers_as_the_store_would() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let id = create(&gw, "Observation", &own_observation()).await;
    let path = format!("/Observation/{id}");
    let failing = json!([{"op": "test", "path": "/status", "value": "preliminary"}]);
    let answer = patch(&gw, &path, &token, &failing).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let changes_id = json!([{"op": "replace", "path": "/id", "value": "other"}]);
    assert_eq!(patch(&gw, &path, &token, &changes_id).await.status, 422);
    let fhirpath = json!({"resourceType": "Parameters", "parameter": []});
    assert_eq!(patch(&gw, &path, &token, &fhirpath).await.status, 415);
    assert_eq!(version(&gw, "Observation", &id).await, "1");
}

#[tokio::test]
async fn a_resource_shared_with_another_patient_is_not_changed_or_deleted() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let appointment = json!({"resourceType": "Appointment", "status": "booked", "participant": [
        {"actor": {"reference": format!("Patient/{A}")}, "status": "accepted"},
        {"actor": {"reference": format!("Patient/{B}")}, "status": "accepted"}]});
    let id = create(&gw, "Appointment", &appointment).await;
    let path = format!("/Appointment/{id}");
    // A sees it (it is A's appointment too) but may not change it.
    assert_eq!(get(&gw, &path, &token).await.status, 200);
    let cancel = json!([{"op": "replace", "path": "/status", "value": "cancelled"}]);
    assert_eq!(patch(&gw, &path, &token, &cancel).await.status, 403);
    let mut only_a = appointment.clone();
    only_a["id"] = json!(id);
    only_a["participant"]
        .as_array_mut()
        .expect("participants")
        .pop();
    let body = Some(("application/fhir+json", only_a.to_string()));
    let put = send(Method::PUT, &gw.fhir(&path), Some(&token), body).await;
    assert_eq!(put.status, 403, "{}", put.body);
    let delete = send(Method::DELETE, &gw.fhir(&path), Some(&token), None).await;
    assert_eq!(delete.status, 403, "{}", delete.body);
    assert_eq!(version(&gw, "Appointment", &id).await, "1");
}

/// HIGH finding 2 of the attack run (30 Nov 2026): a `patient/*.cruds` token deleted
/// `Practitioner/sandbox-prescriber` (204) and renamed `Organization/sandbox-pharmacy`
/// (200). A record naming no patient is shared: a patient/ scope covers data about the
/// patient in context only (SMART App Launch 2.x §3.1), so every write of one is 403 and
/// nothing is stored; reading it stays allowed, and a system token still writes it.
#[tokio::test]
async fn a_patient_token_changes_no_shared_record() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let system = system_token(&gw);
    let pharmacy = get(&gw, "/Organization/sandbox-pharmacy", &system).await;
    assert_eq!(pharmacy.status, 200, "{}", pharmacy.body);
    let pharmacy = pharmacy.json();
    let before = version(&gw, "Organization", "sandbox-pharmacy").await;
    let prescriber = version(&gw, "Practitioner", "sandbox-prescriber").await;
    assert_eq!(
        get(&gw, "/Practitioner/sandbox-prescriber", &token)
            .await
            .status,
        200
    );

    let forbidden = |answer: Answer| {
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert_eq!(answer.json()["resourceType"], "OperationOutcome");
        assert_eq!(answer.json()["issue"][0]["code"], "forbidden");
    };
    let fhir_json = "application/fhir+json";
    let path = "/Practitioner/sandbox-prescriber";
    forbidden(send(Method::DELETE, &gw.fhir(path), Some(&token), None).await);
    let mut renamed = pharmacy.clone();
    renamed["name"] = json!("Not the pharmacy");
    let body = Some((fhir_json, renamed.to_string()));
    let org = gw.fhir("/Organization/sandbox-pharmacy");
    forbidden(send(Method::PUT, &org, Some(&token), body).await);
    let rename = json!([{"op": "replace", "path": "/name", "value": "Not the pharmacy"}]);
    forbidden(patch(&gw, "/Organization/sandbox-pharmacy", &token, &rename).await);
    // By condition (resolved over what the token sees: one match) and in a transaction.
    let by_id = gw.fhir("/Organization?_id=sandbox-pharmacy");
    forbidden(send(Method::DELETE, &by_id, Some(&token), None).await);
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Practitioner/sandbox-prescriber"}}]});
    forbidden(post_json(&gw, "", &token, &tx).await);
    // Creating one is the same: a Device or Medication naming no patient.
    let device = json!({"resourceType": "Device", "status": "active"});
    forbidden(post_json(&gw, "/Device", &token, &device).await);
    assert_eq!(
        version(&gw, "Organization", "sandbox-pharmacy").await,
        before
    );
    assert_eq!(
        version(&gw, "Practitioner", "sandbox-prescriber").await,
        prescriber
    );

    // A Device of A stays A's to write; it may not be made shared.
    let mine = json!({"resourceType": "Device", "status": "active",
        "patient": {"reference": format!("Patient/{A}")}});
    let created = post_json(&gw, "/Device", &token, &mine).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let unlink = json!([{"op": "remove", "path": "/patient"}]);
    forbidden(patch(&gw, &format!("/Device/{id}"), &token, &unlink).await);
    let gone = send(
        Method::DELETE,
        &gw.fhir(&format!("/Device/{id}")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(gone.status, 204, "{}", gone.body);

    // A system token writes the shared record.
    let body = Some((fhir_json, renamed.to_string()));
    let answer = send(Method::PUT, &org, Some(&system), body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A patient token's update, patch or delete is pinned to the version the gateway checked:
/// the client's own `If-Match` must name it — `*` or a list naming it does (RFC 9110
/// §13.1.1) — else 412 from the gateway; nothing is stored on a 412.
#[tokio::test]
async fn if_match_star_and_lists_are_read_against_the_checked_version() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let id = create(&gw, "Observation", &own_observation()).await;
    let url = gw.fhir(&format!("/Observation/{id}"));
    let client = reqwest::Client::new();
    let put = |if_match: &'static str, text: &'static str| {
        let mut body = own_observation();
        body["id"] = json!(id);
        body["code"]["text"] = json!(text);
        client
            .put(&url)
            .bearer_auth(&token)
            .header("content-type", "application/fhir+json")
            .header("if-match", if_match)
            .body(body.to_string())
            .send()
    };
    let answer = put("*", "star").await.expect("send");
    assert_eq!(
        answer.status(),
        200,
        "If-Match: * names the current version"
    );
    assert_eq!(version(&gw, "Observation", &id).await, "2");
    let answer = put(r#"W/"9", W/"2""#, "listed").await.expect("send");
    assert_eq!(answer.status(), 200, "a list naming the current version");
    assert_eq!(version(&gw, "Observation", &id).await, "3");
    let answer = put(r#"W/"1", "2""#, "stale").await.expect("send");
    assert_eq!(answer.status(), 412, "a list naming only older versions");
    let outcome: Value = answer.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["code"], "conflict", "{outcome}");
    assert_eq!(version(&gw, "Observation", &id).await, "3");
    let ops = json!([{"op": "replace", "path": "/status", "value": "amended"}]);
    let answer = client
        .patch(&url)
        .bearer_auth(&token)
        .header("content-type", JSON_PATCH)
        .header("if-match", "*")
        .body(ops.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status(), 200, "a patch with If-Match: *");
    assert_eq!(version(&gw, "Observation", &id).await, "4");
    let answer = client
        .delete(&url)
        .bearer_auth(&token)
        .header("if-match", r#"W/"3""#)
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status(), 412, "a delete naming an older version");
    assert_eq!(version(&gw, "Observation", &id).await, "4");
    // A system token's If-Match goes to the store as sent: the store reads it the same way.
    let system = system_token(&gw);
    for (if_match, status) in [("*", 204), (r#"W/"4""#, 412)] {
        let answer = client
            .delete(&url)
            .bearer_auth(&system)
            .header("if-match", if_match)
            .send()
            .await
            .expect("send");
        assert_eq!(
            answer.status(),
            status,
            "system delete, If-Match {if_match}"
        );
    }
}
