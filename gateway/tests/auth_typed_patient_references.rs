//! A Reference typed `Patient` that the gateway cannot resolve to a local `Patient/{id}` —
//! a bare id (`{"type": "Patient", "reference": "<id>"}`) or only a logical `identifier` —
//! names an unknown patient (FHIR R4 references.html §2.3.0 Reference.type; SMART App
//! Launch 2.x §3.1 patient scopes): a patient token may not write one (403, as for
//! another patient in `subject`), and a resource naming a patient only that way is not
//! shown to it, even by a lenient upstream server that resolves it (attack finding
//! LOW 14 / N7).

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const WRITE: &str = "patient/*.cruds";
const SD_PATIENT: &str = "http://hl7.org/fhir/StructureDefinition/Patient";

fn observation(subject: Value) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "typed"},
        "subject": subject})
}

fn mrn(value: &str) -> Value {
    json!({"system": "urn:mrn", "value": value})
}

fn assert_forbidden(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 403, "{what}: {}", answer.body);
    let outcome = answer.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{what}");
    assert_eq!(outcome["issue"][0]["code"], "forbidden", "{what}");
}

#[tokio::test]
async fn a_patient_token_writes_no_reference_typed_patient_it_cannot_resolve() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let own = json!({"reference": format!("Patient/{A}")});
    let bare_b = json!({"type": "Patient", "reference": B});
    let mut refused = Vec::new();
    // The attack run's request: `focus` naming B by a bare id (201 before the fix; as a
    // single object, not the array R4 has, the store would answer 400 after the check).
    let mut focus = observation(own.clone());
    focus["focus"] = json!([bare_b]);
    refused.push(("focus", focus.clone()));
    focus["focus"] = json!([{"reference": B, "type": SD_PATIENT}]);
    refused.push(("focus, type as URL", focus.clone()));
    focus["focus"] = bare_b.clone();
    refused.push(("focus object", focus));
    let mut performer = observation(own.clone());
    performer["performer"] = json!([{"type": "Patient", "identifier": mrn("b")}]);
    refused.push(("performer by identifier", performer));
    refused.push((
        "subject by identifier",
        observation(json!({"type": "Patient", "identifier": mrn("a")})),
    ));
    refused.push(("subject bare id", observation(bare_b.clone())));
    for (what, body) in &refused {
        let answer = post_json(&gw, "/Observation", &token, body).await;
        assert_forbidden(&answer, what);
    }
    // The same with `Patient/{own id}` is A's to write.
    for subject in [
        json!({"type": "Patient", "reference": format!("Patient/{A}")}),
        json!({"reference": gw.fhir(&format!("/Patient/{A}")), "type": SD_PATIENT,
            "identifier": mrn("a")}),
    ] {
        let answer = post_json(&gw, "/Observation", &token, &observation(subject)).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }

    // Nor may an update or a patch of A's own Observation add one.
    let created = post_json(&gw, "/Observation", &token, &observation(own)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let mut current = created.json();
    let path = format!("/Observation/{}", current["id"].as_str().expect("id"));
    current["focus"] = json!([bare_b]);
    let body = Some(("application/fhir+json", current.to_string()));
    let put = send(Method::PUT, &gw.fhir(&path), Some(&token), body).await;
    assert_forbidden(&put, "update");
    let ops = json!([{"op": "add", "path": "/focus", "value": [bare_b]}]);
    let body = Some(("application/json-patch+json", ops.to_string()));
    let patch = send(Method::PATCH, &gw.fhir(&path), Some(&token), body).await;
    assert_forbidden(&patch, "patch");
    let stored = get(&gw, &path, &system_token(&gw)).await;
    assert_eq!(stored.json()["meta"]["versionId"], "1", "{}", stored.body);
}

#[tokio::test]
async fn the_embedded_store_shows_no_resource_naming_another_patient_that_way() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let system = system_token(&gw);
    let mut ids = Vec::new();
    for patient in [
        json!({"type": "Patient", "reference": B}),
        json!({"identifier": mrn("b"), "type": SD_PATIENT}),
        json!({"type": "Patient", "reference": format!("Patient/{A}")}),
    ] {
        let device = json!({"resourceType": "Device", "patient": patient,
            "identifier": [{"system": "urn:typed", "value": "d"}]});
        let answer = post_json(&gw, "/Device", &system, &device).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        ids.push(answer.json()["id"].as_str().expect("id").to_owned());
    }
    for id in &ids[..2] {
        let read = get(&gw, &format!("/Device/{id}"), &token).await;
        assert_eq!(read.status, 404, "{id}: {}", read.body);
    }
    let read = get(&gw, &format!("/Device/{}", ids[2]), &token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let search = get(&gw, "/Device?identifier=urn:typed|d", &token).await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(
        search.entry_ids("Device"),
        [ids[2].clone()],
        "{}",
        search.body
    );
}

/// A lenient FHIR server: answers `GET …/Device/{id}` with `devices[id]` and a Device
/// search with all of them, as if it resolved every typed reference to a patient.
async fn lenient_upstream(devices: Vec<Value>) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let devices = devices.clone();
        async move {
            let id = uri.path().rsplit_once("/Device/").map(|(_, id)| id.to_owned());
            let body = match id {
                Some(id) => devices
                    .iter()
                    .find(|d| d["id"] == id.as_str())
                    .cloned()
                    .unwrap_or(Value::Null),
                None => json!({"resourceType": "Bundle", "type": "searchset",
                    "entry": devices.iter().map(|d| json!({"resource": d, "search": {"mode": "match"}}))
                        .collect::<Vec<_>>()}),
            };
            ([("content-type", "application/fhir+json")], body.to_string())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}/fhir")
}

#[tokio::test]
async fn a_lenient_upstream_resolving_a_bare_typed_reference_shows_nothing_of_it() {
    let device = |id: &str, patient: Value| json!({"resourceType": "Device", "id": id, "meta": {"versionId": "1"}, "patient": patient});
    let upstream = lenient_upstream(vec![
        device("of-b", json!({"reference": B, "type": "Patient"})),
        device(
            "by-mrn",
            json!({"type": "Patient", "identifier": mrn("b"), "display": "Liz"}),
        ),
        device(
            "of-a",
            json!({"type": "Patient", "reference": format!("Patient/{A}")}),
        ),
    ])
    .await;
    let auth = support::auth_section("http://fhirgate.test/sandbox/auth", "");
    let gw = support::Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  ehr:\n    kind: fhir\n    base_url: {upstream}\n    timeout_seconds: 5\nroutes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n"
    ));
    let token = gw.token_with(&["--scope", "launch/patient patient/*.rs", "--patient", A]);
    for id in ["of-b", "by-mrn"] {
        let read = get(&gw, &format!("/Device/{id}"), &token).await;
        assert_eq!(read.status, 404, "{id}: {}", read.body);
    }
    let read = get(&gw, "/Device/of-a", &token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let search = get(&gw, "/Device?type=pump", &token).await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(search.entry_ids("Device"), ["of-a"], "{}", search.body);
    search.assert_no_b(&["of-b", "by-mrn"]);
}
