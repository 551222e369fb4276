//! A patient token's paging cursors tell nothing of what others write (attack finding
//! MEDIUM 4; FHIR R4 search.html §3.1.1.6 and http.html §3.1.0.9: paging links are opaque).
//! The store's cursors held row ids, numbered across every stored resource, so two of them
//! told the token how many resources everyone wrote in between. Through the binary: the
//! same first-page request gives the same `next` link however many resources other
//! patients write in between, and paging while they write returns every entry exactly
//! once — a search inside the Patient compartment (narrowed), one outside it (paged over
//! what the token sees) and an instance history.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

/// An Observation coded `urn:cursor|w` of `patient`, effective on `day` of January 2024.
fn observation(patient: &str, day: u32) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "urn:cursor", "code": "w"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": format!("2024-01-{day:02}")})
}

/// A Device tagged `urn:cursor|d` naming `patient`.
fn device(patient: &str) -> Value {
    json!({"resourceType": "Device", "identifier": [{"system": "urn:cursor", "value": "d"}],
        "patient": {"reference": format!("Patient/{patient}")}})
}

/// Creates `body` with `token`; its id.
async fn create(gw: &support::Gateway, token: &str, body: &Value) -> String {
    let rt = body["resourceType"].as_str().expect("resourceType");
    let answer = post_json(gw, &format!("/{rt}"), token, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

/// Patient B's writes: `n` Observations and `n` Devices that match the searches.
async fn b_writes(gw: &support::Gateway, system: &str, n: u32) {
    for _ in 0..n {
        create(gw, system, &observation(B, 15)).await;
        create(gw, system, &device(B)).await;
    }
}

/// For each sort: the first page's `next` link is the same before and after B writes, and
/// paging at `_count=2` while B writes between pages shows each of `mine` exactly once.
async fn check(gw: &support::Gateway, token: &str, search: &str, rtype: &str, mine: &[String]) {
    let system = system_token(gw);
    let mut expected = mine.to_vec();
    expected.sort();
    let sorts: &[&str] = match rtype {
        "Observation" => &[
            "",
            "&_sort=_lastUpdated",
            "&_sort=-_lastUpdated",
            "&_sort=date",
        ],
        _ => &["", "&_sort=_lastUpdated", "&_sort=-_lastUpdated"],
    };
    for sort in sorts {
        let path = format!("{search}&_count=1{sort}");
        let first = get(gw, &path, token).await;
        assert_eq!(first.status, 200, "{path}: {}", first.body);
        let next = first.next_link().expect("next");
        b_writes(gw, &system, 5).await;
        let again = get(gw, &path, token).await;
        assert_eq!(again.status, 200, "{path}: {}", again.body);
        assert_eq!(again.entry_ids(rtype), first.entry_ids(rtype), "{path}");
        assert_eq!(again.next_link(), Some(next), "{path}");
        let mut url = gw.fhir(&format!("{search}&_count=2{sort}"));
        let mut seen = Vec::new();
        loop {
            let page = send(reqwest::Method::GET, &url, Some(token), None).await;
            assert_eq!(page.status, 200, "{url}: {}", page.body);
            seen.extend(page.entry_ids(rtype));
            b_writes(gw, &system, 1).await;
            match page.next_link() {
                Some(next) => url = next,
                None => break,
            }
            assert!(seen.len() <= 2 * mine.len(), "paging does not end");
        }
        seen.sort();
        assert_eq!(seen, expected, "{search}{sort}: every entry exactly once");
    }
}

#[tokio::test]
async fn a_patient_tokens_cursors_do_not_move_when_others_write() {
    // Hundreds of requests within seconds: no rate limit (the default tier answers 429).
    let auth = auth_yaml("", &json!({"keys": []}), "");
    let gw = support::Gateway::start(&format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\nrate_limits:\n  enabled: false\n"
    ));
    let system = system_token(&gw);
    let token = patient_token(&gw, "patient/Observation.rs patient/Device.rs");
    let (mut observations, mut devices) = (Vec::new(), Vec::new());
    for day in [4, 1, 5, 2, 3] {
        b_writes(&gw, &system, 1).await;
        observations.push(create(&gw, &system, &observation(A, day)).await);
        devices.push(create(&gw, &system, &device(A)).await);
    }
    // Inside the Patient compartment (the gateway narrows the search to A).
    check(
        &gw,
        &token,
        "/Observation?code=urn:cursor|w",
        "Observation",
        &observations,
    )
    .await;
    // Outside it (the store pages over what the token sees).
    check(
        &gw,
        &token,
        "/Device?identifier=urn:cursor|d",
        "Device",
        &devices,
    )
    .await;
    // A's Observation in four versions: its history pages and cursors do not move either.
    let id = &observations[0];
    for day in [6, 7, 8] {
        let mut body = observation(A, day);
        body["id"] = json!(id);
        let url = gw.fhir(&format!("/Observation/{id}"));
        let body = Some(("application/fhir+json", body.to_string()));
        let answer = send(reqwest::Method::PUT, &url, Some(&system), body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        b_writes(&gw, &system, 1).await;
    }
    let history = |gw: &support::Gateway| gw.fhir(&format!("/Observation/{id}/_history?_count=1"));
    let mut links = Vec::new();
    let mut versions = Vec::new();
    let mut url = history(&gw);
    loop {
        let page = send(reqwest::Method::GET, &url, Some(&token), None).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        for entry in page.json()["entry"].as_array().into_iter().flatten() {
            versions.push(entry["response"]["etag"].as_str().unwrap_or("").to_owned());
        }
        b_writes(&gw, &system, 2).await;
        let Some(next) = page.next_link() else { break };
        links.push(next.clone());
        url = next;
        assert!(links.len() < 10, "paging does not end");
    }
    assert_eq!(versions, ["W/\"4\"", "W/\"3\"", "W/\"2\"", "W/\"1\""]);
    // The same pages again, after B wrote more: the same links.
    let mut again = Vec::new();
    let mut url = history(&gw);
    while let Some(next) = send(reqwest::Method::GET, &url, Some(&token), None)
        .await
        .next_link()
    {
        again.push(next.clone());
        url = next;
        assert!(again.len() < 10, "paging does not end");
    }
    assert_eq!(again, links);
}
