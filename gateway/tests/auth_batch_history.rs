//! A patient-restricted caller's instance history inside a batch answers exactly as the same
//! request alone (FHIR R4 http.html §3.1.0.11.1: each entry is processed as if sent alone;
//! §3.1.0.9 history): another patient's resource 404 like a made-up id, the caller's own
//! deleted resource with its deletion, paging over what it sees (attack finding HIGH 1: B's
//! Observation answered 200 with an empty history Bundle, `next` links counting B's
//! versions and a `total` telling when B wrote). In a transaction such an entry is refused.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

/// Writes one Observation naming `patients` in turn (system token), then deletes it when
/// `deleted`; its id.
async fn observation(gw: &support::Gateway, patients: &[&str], deleted: bool) -> String {
    let system = system_token(gw);
    let body = |patient: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "h1"},
            "subject": {"reference": format!("Patient/{patient}")}})
    };
    let answer = post_json(gw, "/Observation", &system, &body(patients[0])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    let url = gw.fhir(&format!("/Observation/{id}"));
    for patient in &patients[1..] {
        let mut resource = body(patient);
        resource["id"] = json!(id);
        let put = send(
            reqwest::Method::PUT,
            &url,
            Some(&system),
            Some(("application/fhir+json", resource.to_string())),
        )
        .await;
        assert_eq!(put.status, 200, "{}", put.body);
    }
    if deleted {
        let gone = send(reqwest::Method::DELETE, &url, Some(&system), None).await;
        assert_eq!(gone.status, 204, "{}", gone.body);
    }
    id
}

/// A batch (or transaction) of GET entries.
fn bundle(kind: &str, urls: &[String]) -> Value {
    let entries: Vec<Value> = urls
        .iter()
        .map(|u| json!({"request": {"method": "GET", "url": u}}))
        .collect();
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

/// What a history Bundle says apart from its own id and time: entries and links.
fn history_view(bundle: &Value) -> Value {
    json!({"type": bundle["type"], "total": bundle.get("total"), "entry": bundle["entry"],
        "link": bundle["link"]})
}

#[tokio::test]
async fn a_batch_instance_history_answers_as_the_request_alone() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    let of_b = observation(&gw, &[B, B, B], false).await;
    let own_deleted = observation(&gw, &[A, A], true).await;
    // A's, then B's: the newest version is withheld, the first is A's.
    let moved = observation(&gw, &[A, B], false).await;
    let urls = [
        format!("Observation/{of_b}/_history?_count=1"),
        "Observation/no-such-id/_history?_count=1".to_owned(),
        format!("Observation/{of_b}/_history?_since=2000-01-01T00:00:00Z"),
        format!("Observation/{own_deleted}/_history"),
        format!("Observation/{own_deleted}/_history?_count=1"),
        format!("Observation/{moved}/_history?_count=1"),
    ];
    let answer = post_json(&gw, "", &token, &bundle("batch", &urls)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    let response = answer.json();
    assert_eq!(response["type"], "batch-response");
    let entries = response["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), urls.len(), "{response}");

    // B's Observation answers exactly as the made-up id: 404, nothing else.
    let not_found = json!({"response": {"status": "404 Not Found", "outcome": {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found",
            "diagnostics": "resource not found"}]}}});
    for index in [0, 1, 2] {
        assert_eq!(entries[index], not_found, "entry {index}: {response}");
    }

    // The caller's own entries are the single requests' answers, deletion included.
    for (index, url) in urls.iter().enumerate().skip(3) {
        let alone = get(&gw, &format!("/{url}"), &token).await;
        assert_eq!(alone.status, 200, "{url}: {}", alone.body);
        let entry = &entries[index];
        assert_eq!(entry["response"]["status"], "200 OK", "{url}: {entry}");
        assert_eq!(
            history_view(&entry["resource"]),
            history_view(&alone.json()),
            "{url}"
        );
    }
    let methods = |bundle: &Value| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["request"]["method"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(methods(&entries[3]["resource"]), ["DELETE", "PUT", "POST"]);
    // Paged one by one, the first page holds only the deletion; `next` leads on.
    assert_eq!(methods(&entries[4]["resource"]), ["DELETE"]);
    assert!(
        entries[4]["resource"]["link"]
            .as_array()
            .is_some_and(|ls| ls.iter().any(|l| l["relation"] == "next")),
        "{}",
        entries[4]
    );
    // B's version is skipped: the page shows A's version 1, and no link leads past it.
    let page = &entries[5]["resource"];
    assert_eq!(methods(page), ["POST"]);
    assert_eq!(page["entry"][0]["resource"]["meta"]["versionId"], "1");
    let relations: Vec<&Value> = page["link"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| &l["relation"])
        .collect();
    assert_eq!(relations, [&json!("self")], "{page}");

    // A system token's batch is the adapter's answer: B's history is there.
    let system = system_token(&gw);
    let answer = post_json(&gw, "", &system, &bundle("batch", &urls[..1])).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let first = &answer.json()["entry"][0];
    assert_eq!(first["response"]["status"], "200 OK", "{first}");
    assert_eq!(first["resource"]["entry"][0]["resource"]["id"], json!(of_b));
}

#[tokio::test]
async fn a_transaction_instance_history_is_refused_whoever_it_names() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    let own = observation(&gw, &[A], false).await;
    let of_b = observation(&gw, &[B], false).await;
    // Refused by its shape: the caller's own resource, B's and a made-up id alike.
    for id in [own.as_str(), of_b.as_str(), "no-such-id"] {
        let urls = [
            format!("Observation/{own}"),
            format!("Observation/{id}/_history"),
        ];
        let answer = post_json(&gw, "", &token, &bundle("transaction", &urls)).await;
        assert_eq!(answer.status, 403, "{id}: {}", answer.body);
        let outcome = answer.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(
            outcome["issue"][0]["diagnostics"],
            "Bundle.entry[1]: an instance history cannot be paged for this caller inside a transaction; send it on its own",
            "{id}"
        );
    }
    // A read of its own resource alone in a transaction still passes.
    let urls = [format!("Observation/{own}")];
    let answer = post_json(&gw, "", &token, &bundle("transaction", &urls)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["entry"][0]["resource"]["id"], json!(own));

    // A type the token reads for every patient is not thinned: its history passes.
    let device = json!({"resourceType": "Device", "status": "active",
        "patient": {"reference": format!("Patient/{B}")}});
    let created = post_json(&gw, "/Device", &system_token(&gw), &device).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let device = created.json()["id"].as_str().expect("id").to_owned();
    let mixed = patient_token(&gw, "patient/Observation.rs system/Device.rs");
    let urls = [format!("Device/{device}/_history")];
    let answer = post_json(&gw, "", &mixed, &bundle("transaction", &urls)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let history = &answer.json()["entry"][0]["resource"];
    assert_eq!(
        history["entry"][0]["resource"]["id"],
        json!(device),
        "{history}"
    );
    let urls = [format!("Observation/{own}/_history")];
    let answer = post_json(&gw, "", &mixed, &bundle("transaction", &urls)).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}

#[tokio::test]
async fn a_batch_read_of_the_callers_own_deleted_resource_answers_410() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    let own = observation(&gw, &[A, A], true).await;
    let moved = observation(&gw, &[A, B], true).await;
    let of_b = observation(&gw, &[B], true).await;
    let live = observation(&gw, &[A], false).await;
    let urls = [
        format!("Observation/{own}"),
        format!("Observation/{moved}"),
        format!("Observation/{of_b}"),
        "Observation/no-such-id".to_owned(),
        format!("Observation/{live}"),
    ];
    let answer = post_json(&gw, "", &token, &bundle("batch", &urls)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    let response = answer.json();
    let entries = response["entry"].as_array().expect("entries");
    // The caller's own deleted resource: 410 and the OperationOutcome of the read alone
    // (FHIR R4 http.html §3.1.0.2; attack finding LOW 10).
    let alone = get(&gw, &format!("/{}", urls[0]), &token).await;
    assert_eq!(alone.status, 410, "{}", alone.body);
    assert_eq!(entries[0]["response"]["status"], "410 Gone", "{response}");
    assert_eq!(entries[0]["response"]["outcome"], alone.json());
    // Deleted after naming B, B's, or never there: the one 404 of a missing resource.
    for index in [1, 2] {
        assert_eq!(entries[index], entries[3], "entry {index}: {response}");
    }
    assert_eq!(entries[3]["response"]["status"], "404 Not Found");
    assert_eq!(entries[4]["resource"]["id"], json!(live));
}
