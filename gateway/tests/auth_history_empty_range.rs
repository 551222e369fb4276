//! `_since` only narrows the versions a history lists (FHIR R4 http.html §3.1.0.9): a
//! patient token reading its own resource's history with `_since` in the future gets the
//! same empty `history` Bundle (`total` 0, no entry) as a system token, alone or in a batch
//! (attack finding LOW N4: it answered 404). Another patient's resource still answers
//! exactly as a made-up id does, whatever the range: 404.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

const FUTURE: &str = "_since=2999-01-01T00:00:00Z";

/// Writes one Observation naming `patients` in turn (system token); its id.
async fn observation(gw: &support::Gateway, patients: &[&str]) -> String {
    let system = system_token(gw);
    let body = |patient: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "n4"},
            "subject": {"reference": format!("Patient/{patient}")}})
    };
    let answer = post_json(gw, "/Observation", &system, &body(patients[0])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    for patient in &patients[1..] {
        let mut resource = body(patient);
        resource["id"] = json!(id);
        let put = send(
            reqwest::Method::PUT,
            &gw.fhir(&format!("/Observation/{id}")),
            Some(&system),
            Some(("application/fhir+json", resource.to_string())),
        )
        .await;
        assert_eq!(put.status, 200, "{}", put.body);
    }
    id
}

/// What a history Bundle says apart from its own id and time.
fn history_view(bundle: &Value) -> Value {
    json!({"resourceType": bundle["resourceType"], "type": bundle["type"],
        "total": bundle.get("total"), "entry": bundle.get("entry"), "link": bundle["link"]})
}

/// An empty history page of `path` (under the gateway's base), as the store writes it (the
/// query's `:` percent-encoded in the `self` link).
fn empty_page(gw: &support::Gateway, path: &str) -> Value {
    json!({"resourceType": "Bundle", "type": "history", "total": 0, "entry": null,
        "link": [{"relation": "self", "url": gw.fhir(&path.replace(':', "%3A"))}]})
}

#[tokio::test]
async fn an_empty_range_of_the_callers_own_history_is_an_empty_bundle() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let system = system_token(&gw);
    let own = observation(&gw, &[A]).await;
    // A's version 1, then B's: the resource shows A one version.
    let moved = observation(&gw, &[A, B]).await;
    let paths = [
        format!("/Patient/{A}/_history?{FUTURE}"),
        format!("/Observation/{own}/_history?{FUTURE}"),
        format!("/Observation/{own}/_history?{FUTURE}&_count=1"),
        format!("/Observation/{moved}/_history?{FUTURE}"),
    ];
    for path in &paths {
        let mine = get(&gw, path, &token).await;
        assert_eq!(mine.status, 200, "{path}: {}", mine.body);
        assert_eq!(history_view(&mine.json()), empty_page(&gw, path), "{path}");
        let theirs = get(&gw, path, &system).await;
        assert_eq!(theirs.status, 200, "{path}: {}", theirs.body);
        assert_eq!(
            history_view(&theirs.json()),
            history_view(&mine.json()),
            "{path}"
        );
    }
    // A range holding the caller's version still lists it.
    let since = get(
        &gw,
        &format!("/Observation/{own}/_history?_since=2000-01-01T00:00:00Z"),
        &token,
    )
    .await;
    assert_eq!(since.status, 200, "{}", since.body);
    assert_eq!(since.json()["total"], 1, "{}", since.body);
    assert_eq!(since.json()["entry"][0]["resource"]["id"], json!(own));
}

#[tokio::test]
async fn another_patients_resource_answers_as_a_made_up_id_whatever_the_range() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let of_b = observation(&gw, &[B]).await;
    let made_up = get(
        &gw,
        &format!("/Observation/no-such-id/_history?{FUTURE}"),
        &token,
    )
    .await;
    assert_eq!(made_up.status, 404, "{}", made_up.body);
    assert_eq!(
        made_up.json()["issue"][0]["code"],
        "not-found",
        "{}",
        made_up.body
    );
    for query in [FUTURE, "_since=2000-01-01T00:00:00Z", ""] {
        let hidden = get(
            &gw,
            &format!("/Observation/{of_b}/_history?{query}"),
            &token,
        )
        .await;
        assert_eq!(
            (hidden.status, hidden.json()),
            (made_up.status, made_up.json()),
            "{query}"
        );
    }
    let other = get(&gw, &format!("/Patient/{B}/_history?{FUTURE}"), &token).await;
    assert_eq!(
        (other.status, other.json()),
        (made_up.status, made_up.json())
    );
    // Type history spans every patient's changes: refused to a patient token whatever the
    // range (403), an empty Bundle for a system token.
    let path = format!("/Observation/_history?{FUTURE}");
    let typed = get(&gw, &path, &token).await;
    assert_eq!(typed.status, 403, "{}", typed.body);
    assert_eq!(typed.json()["issue"][0]["code"], "forbidden");
    let system = get(&gw, &path, &system_token(&gw)).await;
    assert_eq!(system.status, 200, "{}", system.body);
    assert_eq!(history_view(&system.json()), empty_page(&gw, &path));
}

#[tokio::test]
async fn in_a_batch_the_empty_range_answers_as_alone() {
    let gw = start();
    let token = patient_token(&gw, "patient/Observation.rs");
    let own = observation(&gw, &[A]).await;
    let of_b = observation(&gw, &[B]).await;
    let urls = [
        format!("Observation/{own}/_history?{FUTURE}"),
        format!("Observation/{of_b}/_history?{FUTURE}"),
    ];
    let entries: Vec<Value> = urls
        .iter()
        .map(|u| json!({"request": {"method": "GET", "url": u}}))
        .collect();
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": entries});
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.assert_no_b(&[&of_b]);
    let response = answer.json();
    let first = &response["entry"][0];
    assert_eq!(first["response"]["status"], "200 OK", "{response}");
    let alone = get(&gw, &format!("/{}", urls[0]), &token).await;
    assert_eq!(alone.status, 200, "{}", alone.body);
    assert_eq!(
        history_view(&first["resource"]),
        history_view(&alone.json())
    );
    assert_eq!(first["resource"]["total"], 0, "{first}");
    assert_eq!(
        response["entry"][1]["response"]["status"], "404 Not Found",
        "{response}"
    );
}
