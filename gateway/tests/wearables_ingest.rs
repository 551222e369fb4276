//! `POST /fhir/Patient/{id}/$ingest` end to end through `fhirgate serve` and the embedded
//! store: one batch-response entry per reading, 201 then 200 on re-ingest (conditional
//! create on the identifier: nothing new is stored), refused readings named with their
//! reason while the valid ones are stored, the scope and compartment checks, and
//! `ingest.max_bytes`.

mod support;

use serde_json::Value;
use support::{Gateway, authed, repo_root, store_config};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/wearables").join(rel)).expect("fixture")
}

async fn ingest(
    client: &reqwest::Client,
    gw: &Gateway,
    query: &str,
    media: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let r = client
        .post(gw.fhir(&format!("/Patient/p1/$ingest?{query}")))
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

fn statuses(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn re_ingesting_the_same_readings_creates_nothing_new() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let client = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p1",
    ]));
    let body = fixture("openmhealth/fhirgate-blood-glucose-3.0-capillary-array.json");
    let (status, first) =
        ingest(&client, &gw, "format=omh", "application/json", body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["type"], "batch-response");
    assert_eq!(statuses(&first), vec!["201 Created"; 4], "{first}");
    let (status, second) = ingest(&client, &gw, "format=omh", "application/json", body).await;
    assert_eq!(status, 200);
    assert!(
        statuses(&second).iter().all(|s| s.starts_with("200")),
        "{second}"
    );
    let system = gw.system_client();
    let found: Value = system
        .get(gw.fhir("/Observation?subject=Patient/p1&_summary=count"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(found["total"], 4, "{found}");
    let by_id: Value = system
        .get(gw.fhir("/Observation?identifier=https://w3id.org/openmhealth/data-point-id|6b6c9f52-1b4e-4a35-9a57-3f3d3b1c2a10"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let obs = &by_id["entry"][0]["resource"];
    assert_eq!(obs["code"]["coding"][0]["code"], "41653-7");
    assert_eq!(obs["valueQuantity"]["value"].to_string(), "104.50");
    assert_eq!(obs["subject"]["reference"], "Patient/p1");
}

#[tokio::test]
async fn googlefit_readings_are_stored_once() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let client = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p1",
    ]));
    let body = fixture("googlefit/googlefit-dataset-merge-step-deltas.json");
    let (status, first) = ingest(
        &client,
        &gw,
        "format=googlefit",
        "application/json",
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(statuses(&first), vec!["201 Created"; 4]);
    let (_, again) = ingest(&client, &gw, "format=googlefit", "application/json", body).await;
    assert_eq!(statuses(&again), vec!["200 OK"; 4]);
    let found: Value = gw
        .system_client()
        .get(gw.fhir("/Observation?subject=Patient/p1&code=http://loinc.org|55423-8"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(found["total"], 4, "{found}");
    let steps: Vec<String> = found["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["resource"]["valueQuantity"]["value"].to_string())
        .collect();
    assert!(steps.contains(&"4146".to_owned()), "{steps:?}");
}

#[tokio::test]
async fn refused_readings_are_named_and_valid_ones_stored() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let client = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p1",
    ]));
    let body = fixture("apple-healthkit/fhirgate-INVALID-truncated-xml.xml");
    let (status, bundle) = ingest(&client, &gw, "format=healthkit", "application/xml", body).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(statuses(&bundle), vec!["201 Created", "400 Bad Request"]);
    let issue = &bundle["entry"][1]["response"]["outcome"]["issue"][0];
    assert_eq!(issue["code"], "structure");
    assert!(
        issue["diagnostics"]
            .as_str()
            .unwrap_or("")
            .starts_with("reading 2:"),
        "{issue}"
    );
    let body = fixture("apple-healthkit/fhirgate-export-vitals.xml");
    let (status, bundle) = ingest(&client, &gw, "format=healthkit", "application/xml", body).await;
    assert_eq!(status, 200);
    // Eight readings, then one entry for the input as a whole: what was not mapped.
    let mut expected = vec!["201 Created"; 8];
    expected.push("200 OK");
    assert_eq!(statuses(&bundle), expected, "{bundle}");
}

#[tokio::test]
async fn ingest_needs_create_on_observation_for_that_patient_and_a_known_format() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let body = fixture("openmhealth/omh-heart-rate-2.0.json");
    // Another patient's compartment answers as if Patient/p1 did not exist (DESIGN.md).
    let other = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p2",
    ]));
    let (status, oo) = ingest(&other, &gw, "format=omh", "application/json", body.clone()).await;
    assert_eq!(status, 404, "{oo}");
    let read_only = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.rs",
        "--patient",
        "p1",
    ]));
    assert_eq!(
        ingest(
            &read_only,
            &gw,
            "format=omh",
            "application/json",
            body.clone()
        )
        .await
        .0,
        403
    );
    let client = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p1",
    ]));
    let (status, oo) = ingest(&client, &gw, "format=gpx", "application/json", body.clone()).await;
    assert_eq!(
        (status, oo["resourceType"].as_str()),
        (400, Some("OperationOutcome"))
    );
    let (status, _) = ingest(
        &client,
        &gw,
        "format=fitbit&timezone=Not/AZone",
        "application/json",
        body,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_body_over_ingest_max_bytes_answers_413() {
    let config = format!("{}ingest:\n  max_bytes: 200B\n", store_config(""));
    let gw = Gateway::start(&config);
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let client = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p1",
    ]));
    let body = fixture("apple-healthkit/fhirgate-export-vitals.xml");
    let (status, oo) = ingest(&client, &gw, "format=healthkit", "application/xml", body).await;
    assert_eq!(status, 413, "{oo}");
    assert_eq!(oo["issue"][0]["code"], "too-long");
}

#[test]
fn check_config_reports_bad_ingest_values_with_their_key_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.yaml");
    let config = format!(
        "{}ingest:\n  max_bytes: 0B\n  batch_size: 5000\n",
        store_config("")
    );
    std::fs::write(&path, config).expect("write");
    let (code, _, err) = support::run_cli(
        &["check-config", "--config", &path.to_string_lossy()],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("ingest.max_bytes: must be greater than 0"),
        "{err}"
    );
    assert!(
        err.contains("ingest.batch_size: must be between 1 and 1000"),
        "{err}"
    );
}

#[tokio::test]
async fn fitbit_times_use_the_request_zone_else_the_configured_one() {
    let config = format!("{}ingest:\n  timezone: Asia/Tokyo\n", store_config(""));
    let gw = Gateway::start(&config);
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let client = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.crs",
        "--patient",
        "p1",
    ]));
    let body = fixture("fitbit/fitbit-webapi-body-log-weight.json");
    let (status, bundle) = ingest(
        &client,
        &gw,
        "format=fitbit",
        "application/json",
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(statuses(&bundle), vec!["201 Created"; 4]);
    let found: Value = client
        .get(gw.fhir("/Observation?identifier=https://dev.fitbit.com/build/reference/web-api/body/weight-log-id|1431541739000"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(
        found["entry"][0]["resource"]["effectiveDateTime"], "2015-05-13T18:28:59+09:00",
        "{found}"
    );
    // Same log ids: already present whatever the zone.
    let (_, again) = ingest(
        &client,
        &gw,
        "format=fitbit&timezone=America/Chicago",
        "application/json",
        body,
    )
    .await;
    assert!(
        statuses(&again).iter().all(|s| s.starts_with("200")),
        "{again}"
    );
}

#[tokio::test]
async fn ingest_for_a_patient_that_does_not_exist_answers_404_and_stores_nothing() {
    let gw = Gateway::start(&store_config(""));
    // Patient read too: $ingest tells whether its subject exists only to a caller who may
    // read it (or has it as launch context).
    let client = authed(&gw.token("system/Observation.crs system/Patient.r"));
    let body = fixture("openmhealth/omh-heart-rate-2.0.json");
    let r = client
        .post(gw.fhir("/Patient/nobody/$ingest?format=omh"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["code"], "not-found");
    let count: Value = client
        .get(gw.fhir("/Observation?subject=Patient/nobody&_summary=count"))
        .send()
        .await
        .expect("count")
        .json()
        .await
        .expect("json");
    assert_eq!(count["total"], 0);
}

#[tokio::test]
async fn impossible_values_are_refused_per_reading_and_valid_ones_stored() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    // Patient read too: $ingest tells whether its subject exists only to a caller who may
    // read it (or has it as launch context).
    let client = authed(&gw.token("system/Observation.crs system/Patient.r"));
    let point = |value: &str, minute: u32| {
        format!(
            r#"{{"header":{{"schema_id":{{"namespace":"omh","name":"heart-rate","version":"2.0"}}}},"body":{{"heart_rate":{{"value":{value},"unit":"beats/min"}},"effective_time_frame":{{"date_time":"2026-01-01T00:{minute:02}:00Z"}}}}}}"#
        )
    };
    let body = format!(
        "[{},{},{}]",
        point("1e400", 1),
        point("-5", 2),
        point("72", 3)
    );
    let (status, bundle) = ingest(
        &client,
        &gw,
        "format=omh",
        "application/json",
        body.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    let s = statuses(&bundle);
    assert_eq!(s.len(), 3, "{bundle}");
    assert!(s[0].starts_with("4") && s[1].starts_with("4"), "{s:?}");
    assert_eq!(s[2], "201 Created");
    let diagnostics = bundle["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(diagnostics.contains("out of range"), "{diagnostics}");
}
