//! `_include` source types and `:iterate` (FHIR R4 search.html "Including other resources";
//! attack finding LOW 15), through the real binary and the embedded store:
//!
//! - an `_include` without `:iterate` whose source type is not the searched type includes
//!   nothing (R4: "If there is no reference, or no matching resource, [...] the resource is
//!   omitted, and no error is returned"), and the page's outcome entry says why, for a
//!   system and a patient token alike, instead of leaving it unnoticed;
//! - `:iterate` applies it to what was included, and `:recurse` (its STU3 name, accepted as
//!   a synonym by the gateway's check and by the store) answers exactly as `:iterate`.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

/// `(resourceType, id)` of the entries of `bundle` with `search.mode` = `mode`, sorted.
fn entries(bundle: &Value, mode: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            let r = &e["resource"];
            (
                r["resourceType"].as_str().unwrap_or("").to_owned(),
                r["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The issues of the page's outcome entry (none without one).
fn outcome_issues(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["search"]["mode"] == "outcome")
        .flat_map(|e| {
            e["resource"]["issue"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// The warning a stray `_include` source gets.
fn stray(source: &str, searched: &str) -> Value {
    json!({
        "severity": "warning",
        "code": "not-supported",
        "diagnostics": format!("_include source type {source} is not the searched type {searched}: without :iterate it applies to the matches only and includes nothing")
    })
}

async fn search(gw: &support::Gateway, path: &str, token: &str) -> Value {
    let answer = get(gw, path, token).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json()
}

async fn created(gw: &support::Gateway, token: &str, resource: Value) -> String {
    let rtype = resource["resourceType"].as_str().expect("type").to_owned();
    let answer = post_json(gw, &format!("/{rtype}"), token, &resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_stray_include_source_is_reported_and_recurse_is_iterate() {
    let gw = start();
    let system = system_token(&gw);
    let pr = created(
        &gw,
        &system,
        json!({"resourceType": "Practitioner", "name": [{"family": "Gp"}]}),
    )
    .await;
    let pat = created(
        &gw,
        &system,
        json!({"resourceType": "Patient",
        "generalPractitioner": [{"reference": format!("Practitioner/{pr}")}]}),
    )
    .await;
    let obs = created(
        &gw,
        &system,
        json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "subject": {"reference": format!("Patient/{pat}")}}),
    )
    .await;
    let matched = vec![("Observation".to_owned(), obs.clone())];
    let patient = ("Patient".to_owned(), pat.clone());
    let practitioner = ("Practitioner".to_owned(), pr.clone());

    // Without :iterate, Patient:general-practitioner applies to the Observations: nothing,
    // said in the outcome entry.
    let page = search(
        &gw,
        &format!("/Observation?_id={obs}&_include=Patient:general-practitioner"),
        &system,
    )
    .await;
    assert_eq!(entries(&page, "match"), matched);
    assert_eq!(entries(&page, "include"), vec![]);
    assert_eq!(outcome_issues(&page), vec![stray("Patient", "Observation")]);
    assert_eq!(page["total"], 1);

    // With :iterate it follows the Patient included first; :recurse answers the same.
    for modifier in ["iterate", "recurse"] {
        let page = search(
            &gw,
            &format!(
                "/Observation?_id={obs}&_include=Observation:subject&_include:{modifier}=Patient:general-practitioner"
            ),
            &system,
        )
        .await;
        assert_eq!(entries(&page, "match"), matched, "{modifier}");
        assert_eq!(
            entries(&page, "include"),
            vec![patient.clone(), practitioner.clone()],
            "{modifier}"
        );
        assert_eq!(outcome_issues(&page), Vec::<Value>::new(), "{modifier}");
    }

    // Includes of the searched type, and _revinclude of any type, get no warning.
    let page = search(
        &gw,
        &format!("/Patient?_id={pat}&_include=Patient:general-practitioner&_revinclude=Observation:subject"),
        &system,
    )
    .await;
    assert_eq!(
        entries(&page, "include"),
        vec![
            ("Observation".to_owned(), obs.clone()),
            practitioner.clone()
        ]
    );
    assert_eq!(outcome_issues(&page), Vec::<Value>::new());
}

#[tokio::test]
async fn a_patient_token_gets_the_same_warning() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let page = search(
        &gw,
        "/Observation?_count=1&_include=Patient:general-practitioner",
        &token,
    )
    .await;
    assert_eq!(entries(&page, "match").len(), 1, "{page}");
    assert_eq!(entries(&page, "include"), vec![]);
    assert_eq!(outcome_issues(&page), vec![stray("Patient", "Observation")]);
}
