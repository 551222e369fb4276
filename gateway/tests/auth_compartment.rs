//! Patient-compartment attacks (SMART App Launch 2.x §3, FHIR R4 CompartmentDefinition
//! `patient`): a token for patient A must never yield anything of patient B, whatever the
//! request shape. Each case asserts the exact status and that B is absent from the body.
//! Rule under test: a request naming another patient (query, body) is 403; a resource
//! outside the caller's reach reads as 404, exactly like a missing one.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const RS: &str = "patient/*.rs";
const FORM: &str = "application/x-www-form-urlencoded";

async fn b_observation(gw: &support::Gateway) -> String {
    first_id(
        gw,
        &format!("/Observation?subject=Patient/{B}&category=laboratory"),
    )
    .await
}

#[tokio::test]
async fn own_observations_are_returned_and_only_those() {
    let gw = start();
    let answer = get(&gw, "/Observation?_count=100", &patient_token(&gw, RS)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.entry_ids("Observation").len() >= 30);
    answer.assert_no_b(&[]);
    assert!(answer.body.contains(A));
}

#[tokio::test]
async fn reading_b_observation_by_id_is_404() {
    let gw = start();
    let id = b_observation(&gw).await;
    let answer = get(&gw, &format!("/Observation/{id}"), &patient_token(&gw, RS)).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    answer.assert_no_b(&[&id]);
    let missing = get(&gw, "/Observation/does-not-exist", &patient_token(&gw, RS)).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body, answer.body,
        "withheld and missing must look alike"
    );
}

#[tokio::test]
async fn reading_patient_b_is_404() {
    let gw = start();
    let answer = get(&gw, &format!("/Patient/{B}"), &patient_token(&gw, RS)).await;
    assert_eq!(answer.status, 404);
    answer.assert_no_b(&[]);
    let own = get(&gw, &format!("/Patient/{A}"), &patient_token(&gw, RS)).await;
    assert_eq!(own.status, 200);
}

#[tokio::test]
async fn vread_and_history_of_b_observation_are_404() {
    let gw = start();
    let id = b_observation(&gw).await;
    let token = patient_token(&gw, RS);
    for path in [
        format!("/Observation/{id}/_history/1"),
        format!("/Observation/{id}/_history"),
    ] {
        let answer = get(&gw, &path, &token).await;
        assert!(
            answer.status == 404
                || (answer.status == 200 && answer.entry_ids("Observation").is_empty()),
            "{path}: {}",
            answer.status
        );
        answer.assert_no_b(&[&id]);
    }
}

#[tokio::test]
async fn search_without_patient_parameter_is_narrowed() {
    let gw = start();
    let answer = get(
        &gw,
        "/Observation?category=laboratory",
        &patient_token(&gw, RS),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(!answer.entry_ids("Observation").is_empty());
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn search_with_subject_b_is_403() {
    let gw = start();
    for query in [
        format!("subject=Patient/{B}"),
        format!("subject={B}&subject:Patient={B}"),
        format!("patient={B}"),
        format!("subject=Patient/{A},Patient/{B}"),
    ] {
        let answer = get(
            &gw,
            &format!("/Observation?{query}"),
            &patient_token(&gw, RS),
        )
        .await;
        assert_eq!(answer.status, 403, "{query}");
        assert!(
            answer
                .challenge
                .clone()
                .unwrap_or_default()
                .contains("insufficient_scope")
        );
        assert_eq!(answer.json()["issue"][0]["code"], "forbidden");
    }
}

#[tokio::test]
async fn include_cannot_pull_in_b() {
    let gw = start();
    let id = b_observation(&gw).await;
    let token = patient_token(&gw, RS);
    for query in [
        format!("_id={id}&_include=Observation:subject"),
        "_include=Observation:subject&_include=Observation:encounter".to_owned(),
        "_include=Observation:performer".to_owned(),
    ] {
        let answer = get(&gw, &format!("/Observation?{query}"), &token).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        answer.assert_no_b(&[&id]);
    }
}

#[tokio::test]
async fn revinclude_cannot_pull_in_b() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let answer = get(&gw, "/Patient?_revinclude=Observation:subject", &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    assert!(!answer.entry_ids("Observation").is_empty());
    let aimed = get(
        &gw,
        &format!("/Patient?_id={B}&_revinclude=Observation:subject"),
        &token,
    )
    .await;
    assert_eq!(aimed.status, 403);
    aimed.assert_no_b(&[]);
}

#[tokio::test]
async fn revinclude_of_a_type_without_scope_is_403() {
    let gw = start();
    let token = patient_token(&gw, "patient/Patient.rs");
    let answer = get(&gw, "/Patient?_revinclude=Observation:subject", &token).await;
    assert_eq!(answer.status, 403);
}

#[tokio::test]
async fn has_cannot_reach_b() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let answer = get(
        &gw,
        "/Patient?_has:Observation:subject:category=laboratory",
        &token,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    let aimed = get(
        &gw,
        &format!("/Patient?_id={B}&_has:Observation:subject:category=laboratory"),
        &token,
    )
    .await;
    assert_eq!(aimed.status, 403);
}

#[tokio::test]
async fn chained_subject_parameter_is_403() {
    let gw = start();
    let token = patient_token(&gw, RS);
    for query in [
        "subject:Patient.name=Conn",
        "subject.name=Conn",
        "patient.family=Conn",
        "subject:missing=false",
        "subject:identifier=x|y",
    ] {
        let answer = get(&gw, &format!("/Observation?{query}"), &token).await;
        assert_eq!(answer.status, 403, "{query}");
        answer.assert_no_b(&[]);
    }
}

#[tokio::test]
async fn post_search_with_b_in_the_body_is_403() {
    let gw = start();
    let body = format!("subject=Patient%2F{B}&category=laboratory");
    let answer = send(
        Method::POST,
        &gw.fhir("/Observation/_search"),
        Some(&patient_token(&gw, RS)),
        Some((FORM, body)),
    )
    .await;
    assert_eq!(answer.status, 403);
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn post_search_without_patient_is_narrowed() {
    let gw = start();
    let answer = send(
        Method::POST,
        &gw.fhir("/Observation/_search"),
        Some(&patient_token(&gw, RS)),
        Some((FORM, "category=laboratory".into())),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!answer.entry_ids("Observation").is_empty());
    answer.assert_no_b(&[]);
}

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn entry(method: &str, url: &str) -> Value {
    json!({"request": {"method": method, "url": url}})
}

#[tokio::test]
async fn batch_reading_b_is_refused_entry_by_entry() {
    let gw = start();
    let id = b_observation(&gw).await;
    let token = patient_token(&gw, RS);
    // A batch is processed entry by entry (FHIR R4 §3.1.0.11.1): the refused entry gets
    // the answer the read alone gets (404, as for a missing Patient), the others theirs.
    let by_patient = bundle(
        "batch",
        vec![
            entry("GET", &format!("Patient/{A}")),
            entry("GET", &format!("Patient/{B}")),
        ],
    );
    let answer = post_json(&gw, "", &token, &by_patient).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    let entries = answer.json()["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", answer.body);
    assert_eq!(entries[0]["resource"]["id"], A);
    assert_eq!(entries[1]["response"]["status"], "404 Not Found");
    let by_search = bundle(
        "batch",
        vec![entry("GET", &format!("Observation?subject=Patient/{B}"))],
    );
    let answer = post_json(&gw, "", &token, &by_search).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[]);
    assert_eq!(
        answer.json()["entry"][0]["response"]["status"],
        "403 Forbidden"
    );
    // A read of B's Observation by id: fetched, then withheld entry by entry.
    let by_id = bundle(
        "batch",
        vec![
            entry("GET", &format!("Observation/{id}")),
            entry("GET", "Observation?category=laboratory"),
        ],
    );
    let answer = post_json(&gw, "", &token, &by_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[&id]);
    assert!(answer.body.contains("404"), "{}", answer.body);
    assert!(
        answer.body.contains(A),
        "the narrowed search still answers A's data"
    );
}

#[tokio::test]
async fn transaction_touching_b_is_refused() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.cruds");
    let write = json!({"request": {"method": "POST", "url": "Observation"}, "resource": {"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "subject": {"reference": format!("Patient/{B}")}}});
    let answer = post_json(&gw, "", &token, &bundle("transaction", vec![write])).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let read = bundle("transaction", vec![entry("GET", &format!("Patient/{B}"))]);
    let answer = post_json(&gw, "", &token, &read).await;
    assert_eq!(answer.status, 403);
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn next_link_edited_to_point_at_b_is_refused() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let page = get(&gw, "/Observation?_count=2", &token).await;
    let next = page.next_link().expect("next link");
    let path = next.split("/fhir").nth(1).expect("path").to_owned();
    let edited = path.replace(A, B);
    assert_ne!(edited, path);
    let answer = get(&gw, &edited, &token).await;
    assert_eq!(answer.status, 403, "{edited}");
    answer.assert_no_b(&[]);
    // Dropping the patient parameter but keeping the cursor: narrowed again.
    let stripped: String = path
        .split(['?', '&'])
        .filter(|p| !p.starts_with("subject="))
        .collect::<Vec<_>>()
        .join("&")
        .replacen('&', "?", 1);
    let answer = get(&gw, &stripped, &token).await;
    assert!(
        answer.status == 200 || answer.status == 400,
        "{stripped}: {}",
        answer.status
    );
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn granular_scope_hides_laboratory_observations() {
    let gw = start();
    let lab = first_id(
        &gw,
        &format!("/Observation?subject=Patient/{A}&category=laboratory"),
    )
    .await;
    let vital = first_id(
        &gw,
        &format!("/Observation?subject=Patient/{A}&category=vital-signs"),
    )
    .await;
    let token = patient_token(
        &gw,
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
    );
    let answer = get(&gw, &format!("/Observation/{lab}"), &token).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(
        get(&gw, &format!("/Observation/{vital}"), &token)
            .await
            .status,
        200
    );
    let search = get(&gw, "/Observation?_count=100", &token).await;
    assert_eq!(search.status, 200);
    assert!(
        !search.body.contains("\"laboratory\""),
        "lab category leaked"
    );
    assert!(!search.entry_ids("Observation").is_empty());
    let asked = get(&gw, "/Observation?category=laboratory", &token).await;
    assert_eq!(asked.status, 403);
}

#[tokio::test]
async fn write_with_a_read_only_scope_is_403() {
    let gw = start();
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{A}")}});
    let answer = post_json(&gw, "/Observation", &patient_token(&gw, RS), &obs).await;
    assert_eq!(answer.status, 403);
    assert!(
        answer
            .challenge
            .clone()
            .unwrap_or_default()
            .contains("insufficient_scope")
    );
    let allowed = post_json(
        &gw,
        "/Observation",
        &patient_token(&gw, "patient/Observation.cruds"),
        &obs,
    )
    .await;
    assert_eq!(allowed.status, 201, "{}", allowed.body);
}

#[tokio::test]
async fn creating_an_observation_for_b_is_403() {
    let gw = start();
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{B}")}});
    let answer = post_json(
        &gw,
        "/Observation",
        &patient_token(&gw, "patient/*.cruds"),
        &obs,
    )
    .await;
    assert_eq!(answer.status, 403);
}

#[tokio::test]
async fn updating_or_deleting_b_observation_is_404() {
    let gw = start();
    let id = b_observation(&gw).await;
    let token = patient_token(&gw, "patient/*.cruds");
    let steal = json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{A}")}});
    let put = send(
        Method::PUT,
        &gw.fhir(&format!("/Observation/{id}")),
        Some(&token),
        Some(("application/fhir+json", steal.to_string())),
    )
    .await;
    assert_eq!(put.status, 404, "{}", put.body);
    let delete = send(
        Method::DELETE,
        &gw.fhir(&format!("/Observation/{id}")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(delete.status, 404);
    let still = get(&gw, &format!("/Observation/{id}"), &system_token(&gw)).await;
    assert_eq!(still.status, 200, "B's Observation is untouched");
    assert!(still.body.contains(B));
}

#[tokio::test]
async fn patch_moving_own_observation_to_b_is_403() {
    let gw = start();
    let own = first_id(&gw, &format!("/Observation?subject=Patient/{A}")).await;
    let patch =
        json!([{"op": "replace", "path": "/subject/reference", "value": format!("Patient/{B}")}]);
    let answer = send(
        Method::PATCH,
        &gw.fhir(&format!("/Observation/{own}")),
        Some(&patient_token(&gw, "patient/*.cruds")),
        Some(("application/json-patch+json", patch.to_string())),
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}

#[tokio::test]
async fn observation_scope_does_not_read_patient() {
    let gw = start();
    let answer = get(
        &gw,
        &format!("/Patient/{A}"),
        &patient_token(&gw, "patient/Observation.rs"),
    )
    .await;
    assert_eq!(answer.status, 403);
    let search = get(
        &gw,
        "/Patient",
        &patient_token(&gw, "patient/Observation.rs"),
    )
    .await;
    assert_eq!(search.status, 403);
}

#[tokio::test]
async fn everything_for_b_is_404_and_for_a_has_no_b() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let b = get(&gw, &format!("/Patient/{B}/$everything"), &token).await;
    assert_eq!(b.status, 404);
    b.assert_no_b(&[]);
    let a = get(&gw, &format!("/Patient/{A}/$everything"), &token).await;
    assert!(
        a.status == 200 || a.status == 404 || a.status == 501 || a.status == 400,
        "{}",
        a.status
    );
    a.assert_no_b(&[]);
}

#[tokio::test]
async fn system_level_search_with_a_patient_scope_is_403() {
    let gw = start();
    let token = patient_token(&gw, RS);
    for path in ["?_type=Observation", "/_history"] {
        let answer = get(&gw, path, &token).await;
        assert_eq!(answer.status, 403, "{path}");
        answer.assert_no_b(&[]);
    }
}

#[tokio::test]
async fn patient_scope_without_patient_context_grants_nothing() {
    let gw = start();
    let token = cli_token(&gw, &["--scope", RS]);
    let answer = get(&gw, "/Observation", &token).await;
    assert_eq!(answer.status, 403);
}

/// A type's history pages through every patient's changes and cannot be narrowed, so a
/// patient token is refused rather than shown filtered pages (empty pages and `next` links
/// would still tell other patients' activity).
#[tokio::test]
async fn type_history_is_refused_to_a_patient_token() {
    let gw = start();
    let answer = get(
        &gw,
        "/Observation/_history?_count=200",
        &patient_token(&gw, RS),
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn encounter_of_b_by_id_is_404() {
    let gw = start();
    let id = first_id(&gw, &format!("/Encounter?patient=Patient/{B}")).await;
    let answer = get(&gw, &format!("/Encounter/{id}"), &patient_token(&gw, RS)).await;
    assert_eq!(answer.status, 404);
    answer.assert_no_b(&[&id]);
}

/// An operation no route serves is 404 `not-supported` for every caller (it is what the
/// server supports, not what it holds), before scopes are looked at.
#[tokio::test]
async fn unknown_operation_is_404_not_supported() {
    let gw = start();
    let answer = get(
        &gw,
        &format!("/Patient/{A}/$graph"),
        &patient_token(&gw, RS),
    )
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["issue"][0]["code"], "not-supported");
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn system_and_user_scopes_see_both_patients() {
    let gw = start();
    let system = get(&gw, "/Patient", &system_token(&gw)).await;
    assert_eq!(system.status, 200);
    assert!(system.body.contains(A) && system.body.contains(B));
    let user = get(
        &gw,
        "/Patient",
        &cli_token(
            &gw,
            &["--scope", "user/*.rs", "--fhir-user", "Practitioner/x"],
        ),
    )
    .await;
    assert_eq!(user.status, 200);
    assert!(
        user.body.contains(A) && user.body.contains(B),
        "user_patients: all"
    );
}

#[tokio::test]
async fn care_team_policy_limits_a_practitioner_to_their_patients() {
    let gw = start_with("", &json!({"keys": []}), "  user_patients: care_team\n");
    let practitioner = "Practitioner/34ef92a2-f1a5-4324-b274-4ccf96f9f2d1";
    let token = cli_token(&gw, &["--scope", "user/*.rs", "--fhir-user", practitioner]);
    let answer = get(&gw, "/Patient", &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains(A), "A is the practitioner's patient");
    answer.assert_no_b(&[]);
    let b = get(&gw, &format!("/Patient/{B}"), &token).await;
    assert_eq!(b.status, 404);
    let stranger = cli_token(
        &gw,
        &["--scope", "user/*.rs", "--fhir-user", "Practitioner/nobody"],
    );
    assert_eq!(get(&gw, "/Observation", &stranger).await.status, 403);
}

#[tokio::test]
async fn principal_reaches_the_adapter_for_writes() {
    let gw = start();
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{A}")}});
    let created = post_json(
        &gw,
        "/Observation",
        &patient_token(&gw, "patient/Observation.cruds"),
        &obs,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body.contains(A));
}

#[tokio::test]
async fn conditional_create_cannot_probe_b() {
    let gw = start();
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{A}")}});
    let response = support::client()
        .post(gw.fhir("/Observation"))
        .bearer_auth(patient_token(&gw, "patient/*.cruds"))
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", format!("subject=Patient/{B}"))
        .body(obs.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 403);
}
