//! A reference under another server's base names that server's resource, not ours (FHIR R4
//! references.html, literal references): an Observation about
//! `https://other.example/fhir/Patient/A` is not our patient A's and a token for A never
//! sees it (attack finding L10); under the gateway's own base it is A's.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

const OTHER: &str = "https://other.example/fhir";

/// Creates `resource` with a system token; its id.
async fn create(gw: &support::Gateway, resource: &Value) -> String {
    let rt = resource["resourceType"].as_str().expect("type");
    let answer = post_json(gw, &format!("/{rt}"), &system_token(gw), resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

fn observation(subject: &str, tag: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": tag},
        "identifier": [{"system": "urn:l10", "value": tag}],
        "subject": {"reference": subject}})
}

#[tokio::test]
async fn another_servers_patient_a_is_not_our_patient_a() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.crus");
    let foreign = create(
        &gw,
        &observation(&format!("{OTHER}/Patient/{A}"), "foreign"),
    )
    .await;
    let versioned = format!("{OTHER}/Patient/{A}/_history/1");
    let foreign_versioned = create(&gw, &observation(&versioned, "foreign")).await;
    let local = create(
        &gw,
        &observation(&gw.fhir(&format!("/Patient/{A}")), "local"),
    )
    .await;
    let relative = create(
        &gw,
        &observation(&format!("Patient/{A}/_history/1"), "local"),
    )
    .await;
    let device = create(
        &gw,
        &json!({"resourceType": "Device", "identifier": [{"system": "urn:l10", "value": "foreign"}],
            "patient": {"reference": format!("{OTHER}/Patient/{A}")}}),
    )
    .await;

    for path in [
        format!("/Observation/{foreign}"),
        format!("/Observation/{foreign_versioned}"),
        format!("/Device/{device}"),
    ] {
        let read = get(&gw, &path, &token).await;
        assert_eq!(read.status, 404, "{path}: {}", read.body);
    }
    for id in [&local, &relative] {
        let read = get(&gw, &format!("/Observation/{id}"), &token).await;
        assert_eq!(read.status, 200, "{}", read.body);
    }
    let search = get(
        &gw,
        "/Observation?identifier=urn:l10|foreign,urn:l10|local",
        &token,
    )
    .await;
    assert_eq!(search.status, 200, "{}", search.body);
    let mut ids = search.entry_ids("Observation");
    ids.sort();
    let mut own = vec![local.clone(), relative.clone()];
    own.sort();
    assert_eq!(ids, own, "{}", search.body);
    let search = get(&gw, "/Device?identifier=urn:l10|foreign", &token).await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(
        search.entry_ids("Device"),
        Vec::<String>::new(),
        "{}",
        search.body
    );

    // Nor may A's token write it: the other server's patient is not within reach.
    let answer = post_json(
        &gw,
        "/Observation",
        &token,
        &observation(&format!("{OTHER}/Patient/{A}"), "w"),
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.json()["resourceType"], "OperationOutcome");
    let answer = post_json(
        &gw,
        "/Observation",
        &token,
        &observation(&gw.fhir(&format!("/Patient/{A}")), "w"),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

#[tokio::test]
async fn a_percent_encoded_patient_reference_still_names_that_patient() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.crus");
    // `%50atient` is `Patient` (RFC 3986 §6.2.2.2): B's, relative and under our base.
    let mut devices = Vec::new();
    for reference in [
        format!("%50atient/{B}"),
        gw.fhir(&format!("/Pati%65nt/{B}")),
    ] {
        devices.push(
            create(
                &gw,
                &json!({"resourceType": "Device", "identifier": [{"system": "urn:pct", "value": "b"}],
                    "patient": {"reference": reference}}),
            )
            .await,
        );
    }
    for device in &devices {
        let read = get(&gw, &format!("/Device/{device}"), &token).await;
        assert_eq!(read.status, 404, "{device}: {}", read.body);
    }
    let search = get(&gw, "/Device?identifier=urn:pct|b", &token).await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(
        search.entry_ids("Device"),
        Vec::<String>::new(),
        "{}",
        search.body
    );
    // Nor may A's token write a reference to B spelled that way.
    let mut obs = observation(&format!("Patient/{A}"), "pct");
    obs["performer"] = json!([{"reference": gw.fhir(&format!("/%50atient/{B}"))}]);
    let answer = post_json(&gw, "/Observation", &token, &obs).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}
