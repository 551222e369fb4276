//! The embedded store refuses what is not a valid R4 resource (FHIR R4 http.html §3.1.0.4:
//! "400 Bad Request - resource could not be parsed or failed basic FHIR validation rules"),
//! alone, in a transaction (the whole transaction) and in a batch (that entry only), with
//! an OperationOutcome naming each problem's path. Inputs: the R4 blood-pressure example.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, fixture, store_config};

fn blood_pressure() -> Value {
    serde_json::from_slice(&fixture("fhir-r4/observation-example-bloodpressure.json"))
        .expect("fixture")
}

/// The example as a new resource (no id), with `change` applied.
fn observation(change: impl FnOnce(&mut Value)) -> Value {
    let mut o = blood_pressure();
    if let Some(map) = o.as_object_mut() {
        map.remove("id");
    }
    change(&mut o);
    o
}

async fn post(gw: &Gateway, path: &str, body: &Value) -> (StatusCode, Value) {
    let r = gw
        .system_client()
        .post(gw.fhir(path))
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.expect("json"))
}

fn expressions(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["expression"][0].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn an_invalid_resource_is_400_with_every_problem_named() {
    let gw = Gateway::start(&store_config(""));
    let bad = observation(|o| {
        o["colour"] = json!("red");
        o["component"][0]["valueQuantity"]["precision"] = json!(2);
    });
    let (status, outcome) = post(&gw, "/Observation", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "structure");
    assert_eq!(
        expressions(&outcome),
        [
            "Observation.component[0].valueQuantity.precision",
            "Observation.colour"
        ]
    );

    let (status, outcome) = post(
        &gw,
        "/Observation",
        &observation(|o| o["status"] = json!("done")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outcome["issue"][0]["code"], "value");
    assert_eq!(expressions(&outcome), ["Observation.status"]);

    let (status, outcome) =
        post(&gw, "/Observation", &observation(|o| o["note"] = json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(expressions(&outcome), ["Observation.note"]);

    // The example itself is stored, its decimals as sent.
    let (status, created) = post(&gw, "/Observation", &observation(|_| {})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["component"][0]["valueQuantity"]["value"], 107);
}

#[tokio::test]
async fn an_invalid_entry_fails_a_transaction_whole_and_a_batch_in_place() {
    let gw = Gateway::start(&store_config(""));
    let entry = |resource: Value| json!({"resource": resource, "request": {"method": "POST", "url": "Observation"}});
    let entries = vec![
        entry(observation(|_| {})),
        entry(observation(|o| o["colour"] = json!("red"))),
    ];
    let bundle = |kind: &str| json!({"resourceType": "Bundle", "type": kind, "entry": entries});

    let (status, outcome) = post(&gw, "", &bundle("transaction")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_eq!(expressions(&outcome), ["Bundle.entry[1].resource.colour"]);
    let found: Value = gw
        .system_client()
        .get(gw.fhir(
            "/Observation?identifier=urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281&_summary=count",
        ))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(found["total"], 0, "nothing of the transaction was stored");

    let (status, answer) = post(&gw, "", &bundle("batch")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let statuses: Vec<&str> = answer["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses[0], "201 Created");
    assert!(statuses[1].starts_with("400"), "{answer}");
    let outcome = &answer["entry"][1]["response"]["outcome"];
    assert_eq!(expressions(outcome), ["Bundle.entry[1].resource.colour"]);
}
