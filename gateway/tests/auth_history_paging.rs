//! A patient-restricted caller pages the history of its own resource through links that all
//! work (FHIR R4 http.html §3.1.0.9 history, bundle.html `Bundle.link`), even where earlier
//! versions named another patient and are withheld (attack finding M3: `next` led to a page
//! the filter left empty, answered 404).

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

/// An Observation of `patient`, with `id` when given.
fn observation(patient: &str, id: Option<&str>) -> Value {
    let mut resource = json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "m3"}, "subject": {"reference": format!("Patient/{patient}")}});
    if let Some(id) = id {
        resource["id"] = json!(id);
    }
    resource
}

/// Writes the versions of one Observation naming `patients` in turn (system token); its id.
async fn versions(gw: &support::Gateway, patients: &[&str]) -> String {
    let system = system_token(gw);
    let answer = post_json(gw, "/Observation", &system, &observation(patients[0], None)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    for patient in &patients[1..] {
        let body = observation(patient, Some(&id)).to_string();
        let url = gw.fhir(&format!("/Observation/{id}"));
        let answer = send(
            reqwest::Method::PUT,
            &url,
            Some(&system),
            Some(("application/fhir+json", body)),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    id
}

/// Follows `next` from `path`: each page's versionIds (every page must answer 200).
async fn version_pages(gw: &support::Gateway, path: &str, token: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut url = gw.fhir(path);
    loop {
        let page = send(reqwest::Method::GET, &url, Some(token), None).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        let bundle = page.json();
        out.push(
            bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["resource"]["meta"]["versionId"].as_str())
                .map(str::to_owned)
                .collect(),
        );
        let links = bundle["link"].as_array().cloned().unwrap_or_default();
        assert!(
            links
                .iter()
                .all(|l| l["relation"] == "self" || l["relation"] == "next"),
            "{links:?}"
        );
        match links.iter().find(|l| l["relation"] == "next") {
            Some(next) => url = next["url"].as_str().expect("url").to_owned(),
            None => return out,
        }
        assert!(out.len() < 20, "paging does not end");
    }
}

#[tokio::test]
async fn every_history_link_of_a_restricted_caller_answers_200() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    // Named B, then corrected to A: the B version is withheld, no link leads to it.
    let corrected = versions(&gw, &[B, A]).await;
    let path = format!("/Observation/{corrected}/_history?_count=1");
    assert_eq!(version_pages(&gw, &path, &token).await, [["2"]]);
    // A, B, A: the page of the B version is skipped, the A version after it is reached.
    let twice = versions(&gw, &[A, B, A]).await;
    let path = format!("/Observation/{twice}/_history?_count=1");
    assert_eq!(version_pages(&gw, &path, &token).await, [["3"], ["1"]]);
    // A system token still pages through every version.
    let path = format!("/Observation/{twice}/_history?_count=1");
    assert_eq!(
        version_pages(&gw, &path, &system_token(&gw)).await,
        [["3"], ["2"], ["1"]]
    );
    // Asked without paging, the withheld version is simply not there.
    let all = get(&gw, &format!("/Observation/{twice}/_history"), &token).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.entry_ids("Observation"), [twice.clone(), twice]);
}

#[tokio::test]
async fn malformed_history_parameters_answer_400_as_for_a_system_token() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    let system = system_token(&gw);
    let own = versions(&gw, &[A, A]).await;
    // Also those the store does not serve, answered 400 rather than ignored (attack finding
    // LOW 9; FHIR R4 http.html §3.1.0.9: _count, _since, _at, _list).
    for query in [
        "_count=abc",
        "_cursor=not-a-cursor",
        "_since=garbage",
        "_count=-1",
        "_count=0",
        "_at=bad",
        "_at=2020-01-01",
        "_list=x",
        "_summary=bogus",
        "_summary=count",
        "_sort=bad",
        "_sort=_lastUpdated",
        "_cursor=-5",
        "_cursor=1",
    ] {
        let path = format!("/Observation/{own}/_history?{query}");
        let by_system = get(&gw, &path, &system).await;
        assert_eq!(by_system.status, 400, "{query}: {}", by_system.body);
        let answer = get(&gw, &path, &token).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        let outcome = answer.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{query}");
        assert_eq!(outcome["issue"][0]["code"], "invalid", "{query}");
        assert_eq!(outcome, by_system.json(), "{query}");
    }
    // The type's and the system's history answer the same.
    for path in [
        "/Observation/_history?_count=-1",
        "/_history?_at=2020-01-01",
    ] {
        let answer = get(&gw, path, &system).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
    }
    // Well-formed, the same parameters page as usual (the order served may be named).
    let path = format!(
        "/Observation/{own}/_history?_count=1&_since=2000-01-01T00:00:00Z&_sort=-_lastUpdated&_summary=false"
    );
    assert_eq!(version_pages(&gw, &path, &token).await, [["2"], ["1"]]);
    let path = format!("/Observation/{own}/_history?_count=100000");
    assert_eq!(version_pages(&gw, &path, &token).await, [["2", "1"]]);
}

/// Deletes `Observation/{id}` with a system token.
async fn delete(gw: &support::Gateway, id: &str) {
    let url = gw.fhir(&format!("/Observation/{id}"));
    let deleted = send(reqwest::Method::DELETE, &url, Some(&system_token(gw)), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
}

/// The `request.method` of each entry of a history answer.
fn methods(answer: &Answer) -> Vec<String> {
    answer.json()["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["request"]["method"].as_str())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_history_of_a_deleted_resource_shows_the_callers_own_versions() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    // The caller's own Observation, updated, then deleted: the deletion ends a version the
    // caller sees, so it is shown, and the earlier versions are reached from it.
    let own = versions(&gw, &[A, A]).await;
    delete(&gw, &own).await;
    let all = get(&gw, &format!("/Observation/{own}/_history"), &token).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(methods(&all), ["DELETE", "PUT", "POST"]);
    assert_eq!(all.entry_ids("Observation"), [own.clone(), own.clone()]);
    let path = format!("/Observation/{own}/_history?_count=1");
    assert_eq!(
        version_pages(&gw, &path, &token).await,
        [vec![], vec!["2"], vec!["1"]]
    );
    // Paged two by two, the deletion's version is on the same page.
    let path = format!("/Observation/{own}/_history?_count=2");
    assert_eq!(
        version_pages(&gw, &path, &token).await,
        [vec!["2"], vec!["1"]]
    );

    // Deleted, then written again: the deletion between two shown versions is paged to.
    let again = versions(&gw, &[A]).await;
    delete(&gw, &again).await;
    let url = gw.fhir(&format!("/Observation/{again}"));
    let body = observation(A, Some(&again)).to_string();
    let put = send(
        reqwest::Method::PUT,
        &url,
        Some(&system_token(&gw)),
        Some(("application/fhir+json", body)),
    )
    .await;
    assert!(put.status == 200 || put.status == 201, "{}", put.body);
    let path = format!("/Observation/{again}/_history?_count=1");
    assert_eq!(
        version_pages(&gw, &path, &token).await,
        [vec!["3"], vec![], vec!["1"]]
    );
    let all = get(&gw, &format!("/Observation/{again}/_history"), &token).await;
    assert_eq!(methods(&all), ["PUT", "DELETE", "POST"]);

    // Moved to patient B before it was deleted: the deletion ends B's version and stays
    // withheld; A's first version is still shown when asked without paging.
    let moved = versions(&gw, &[A, B]).await;
    delete(&gw, &moved).await;
    let all = get(&gw, &format!("/Observation/{moved}/_history"), &token).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(methods(&all), ["POST"]);
    assert!(!all.body.contains(B), "{}", all.body);
    // Paged, the withheld pages are skipped: A's first version is the first page.
    let path = format!("/Observation/{moved}/_history?_count=1");
    assert_eq!(version_pages(&gw, &path, &token).await, [["1"]]);
}

#[tokio::test]
async fn a_first_page_of_withheld_versions_answers_the_first_version_shown() {
    let gw = start();
    let token = patient_token(&gw, "patient/Device.rs");
    let system = system_token(&gw);
    // A Device of A, moved to B, written again, then deleted (attack finding MEDIUM 7:
    // `_count=1`, 2 and 3 answered 404 and 4 answered 200, counting the withheld entries).
    let device = |patient: &str| {
        json!({"resourceType": "Device", "status": "active",
            "patient": {"reference": format!("Patient/{patient}")}})
    };
    let created = post_json(&gw, "/Device", &system, &device(A)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let url = gw.fhir(&format!("/Device/{id}"));
    for _ in 0..2 {
        let mut moved = device(B);
        moved["id"] = json!(id);
        let put = send(
            reqwest::Method::PUT,
            &url,
            Some(&system),
            Some(("application/fhir+json", moved.to_string())),
        )
        .await;
        assert_eq!(put.status, 200, "{}", put.body);
    }
    let deleted = send(reqwest::Method::DELETE, &url, Some(&system), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    for count in 1..=5 {
        let path = format!("/Device/{id}/_history?_count={count}");
        assert_eq!(
            version_pages(&gw, &path, &token).await,
            [["1"]],
            "_count={count}"
        );
        let page = get(&gw, &path, &token).await;
        page.assert_no_b(&[]);
        // The page answers the URL asked for: `self` is that URL, no cursor in it.
        assert_eq!(
            page.json()["link"],
            json!([{"relation": "self", "url": gw.fhir(&path)}])
        );
    }
    let all = get(&gw, &format!("/Device/{id}/_history"), &token).await;
    assert_eq!(methods(&all), ["POST"]);
}

#[tokio::test]
async fn a_read_of_the_callers_own_deleted_resource_answers_410() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    let system = system_token(&gw);
    // Its last version named the caller: 410 Gone, as for a system token (FHIR R4
    // http.html §3.1.0.2; attack finding LOW 10: it answered 404).
    let own = versions(&gw, &[A, A]).await;
    delete(&gw, &own).await;
    let path = format!("/Observation/{own}");
    let by_system = get(&gw, &path, &system).await;
    assert_eq!(by_system.status, 410, "{}", by_system.body);
    let answer = get(&gw, &path, &token).await;
    assert_eq!(answer.status, 410, "{}", answer.body);
    assert_eq!(answer.json(), by_system.json());
    assert_eq!(answer.json()["issue"][0]["code"], "deleted");
    // Its last version named B (or it was B's all along): the same 404 as a missing id.
    let missing = get(&gw, "/Observation/no-such-id", &token).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    for patients in [&[A, B][..], &[B][..]] {
        let id = versions(&gw, patients).await;
        delete(&gw, &id).await;
        let path = format!("/Observation/{id}");
        assert_eq!(get(&gw, &path, &system).await.status, 410);
        let answer = get(&gw, &path, &token).await;
        assert_eq!(answer.status, 404, "{patients:?}: {}", answer.body);
        assert_eq!(answer.body, missing.body, "{patients:?}");
    }
}
