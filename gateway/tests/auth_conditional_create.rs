//! A patient-restricted caller's conditional create (FHIR R4 http.html §3.1.0.8
//! `If-None-Exist`) on a type outside the Patient compartment (Device) counts only the
//! matches that caller may see: a Device of patient B matching the criteria answers exactly
//! as no match does (201), so the answers tell nothing of B's data. A transaction with an
//! entry that fails commits nothing (§3.1.0.11.2); a batch's entries fail alone.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

const WRITE: &str = "patient/*.cruds";

/// A Device of `patient` with identifier `urn:dev|{value}`.
fn device(patient: &str, value: &str) -> Value {
    json!({"resourceType": "Device", "status": "active",
        "identifier": [{"system": "urn:dev", "value": value}],
        "patient": {"reference": format!("Patient/{patient}")}})
}

/// Creates `resource` with a system token; its id.
async fn create(gw: &support::Gateway, resource: &Value) -> String {
    let answer = post_json(gw, "/Device", &system_token(gw), resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

/// `POST /Device` of `body` with `If-None-Exist: criteria` and `token`.
async fn create_if(gw: &support::Gateway, token: &str, body: &Value, criteria: &str) -> Answer {
    let response = support::client()
        .post(gw.fhir("/Device"))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", criteria)
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    Answer {
        status,
        body: response.text().await.expect("body"),
        challenge: None,
    }
}

/// The answer without what differs between two creates (ids, meta, the identifier sent).
fn shape(answer: &Answer) -> (u16, Value) {
    let mut v = answer.json();
    if let Some(o) = v.as_object_mut() {
        for key in ["id", "meta", "identifier"] {
            o.remove(key);
        }
    }
    (answer.status, v)
}

/// The Device ids with identifier `urn:dev|{value}`, as a system token searches them.
async fn stored(gw: &support::Gateway, value: &str) -> Vec<String> {
    let search = format!("/Device?identifier=urn:dev|{value}");
    let mut ids = get(gw, &search, &system_token(gw))
        .await
        .entry_ids("Device");
    ids.sort();
    ids
}

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

/// A `POST Device` entry of A's Device `value`, conditional on `criteria` when given.
fn post_entry(value: &str, criteria: Option<&str>) -> Value {
    let mut entry = json!({"resource": device(A, value),
        "request": {"method": "POST", "url": "Device"}});
    if let Some(c) = criteria {
        entry["request"]["ifNoneExist"] = json!(c);
    }
    entry
}

fn statuses(answer: &Answer) -> Vec<String> {
    answer.json()["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_match_only_b_can_see_answers_as_no_match() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let one = create(&gw, &device(B, "b1")).await;
    let two = [
        create(&gw, &device(B, "b2")).await,
        create(&gw, &device(B, "b2")).await,
    ];
    let b_ids = [one.as_str(), two[0].as_str(), two[1].as_str()];
    assert_eq!(
        get(&gw, &format!("/Device/{one}"), &token).await.status,
        404,
        "B's Device is withheld from A"
    );

    // One hidden match, two hidden matches (the store alone: 412), none: all 201.
    let none = create_if(&gw, &token, &device(A, "none"), "identifier=urn:dev|none").await;
    assert_eq!(none.status, 201, "{}", none.body);
    for value in ["b1", "b2"] {
        let criteria = format!("identifier=urn:dev|{value}");
        let hidden = create_if(&gw, &token, &device(A, value), &criteria).await;
        assert_eq!(shape(&hidden), shape(&none), "{value}: {}", hidden.body);
        hidden.assert_no_b(&b_ids);
    }
    let mine = stored(&gw, "b1").await;
    assert_eq!(mine.len(), 2, "B's b1 and A's new one: {mine:?}");
    let a_b1: Vec<&String> = mine.iter().filter(|id| **id != one).collect();

    // A's own match is found (200, nothing created), B's next to it does not make it 412.
    let again = create_if(&gw, &token, &device(A, "b1"), "identifier=urn:dev|b1").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["id"], json!(a_b1[0]));
    again.assert_no_b(&b_ids);
    assert_eq!(stored(&gw, "b1").await, mine, "nothing created");

    // Two of A's own: 412 multiple-matches, as for any caller.
    create(&gw, &device(A, "b1")).await;
    let several = create_if(&gw, &token, &device(A, "b1"), "identifier=urn:dev|b1").await;
    assert_eq!(several.status, 412, "{}", several.body);
    assert_eq!(several.json()["issue"][0]["code"], "multiple-matches");
    several.assert_no_b(&b_ids);
}

#[tokio::test]
async fn entries_conditional_on_a_hidden_match_answer_as_no_match() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    for kind in ["transaction", "batch"] {
        let hidden = create(&gw, &device(B, &format!("{kind}-b"))).await;
        let on = |value: &str| {
            let criteria = format!("identifier=urn:dev|{value}");
            bundle(kind, vec![post_entry(value, Some(&criteria))])
        };
        let on_hidden = post_json(&gw, "", &token, &on(&format!("{kind}-b"))).await;
        let on_none = post_json(&gw, "", &token, &on(&format!("{kind}-none"))).await;
        assert_eq!(on_hidden.status, 200, "{kind}: {}", on_hidden.body);
        assert_eq!(statuses(&on_hidden), vec!["201 Created".to_owned()]);
        assert_eq!(statuses(&on_none), statuses(&on_hidden), "{kind}");
        on_hidden.assert_no_b(&[&hidden]);
        // B's, and A's new one.
        assert_eq!(stored(&gw, &format!("{kind}-b")).await.len(), 2, "{kind}");
    }
}

#[tokio::test]
async fn a_transaction_with_a_failing_entry_commits_nothing() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    create(&gw, &device(A, "dup")).await;
    create(&gw, &device(A, "dup")).await;
    let entries = vec![
        post_entry("kept", None),
        post_entry("dup", Some("identifier=urn:dev|dup")),
    ];

    let answer = post_json(&gw, "", &token, &bundle("transaction", entries.clone())).await;
    assert_eq!(answer.status, 412, "{}", answer.body);
    let outcome = answer.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "multiple-matches");
    assert_eq!(
        outcome["issue"][0]["expression"],
        json!(["Bundle.entry[1]"])
    );
    assert!(stored(&gw, "kept").await.is_empty(), "nothing committed");

    // A batch: the failing entry fails alone.
    let answer = post_json(&gw, "", &token, &bundle("batch", entries)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        statuses(&answer),
        vec![
            "201 Created".to_owned(),
            "412 Precondition Failed".to_owned()
        ]
    );
    assert_eq!(stored(&gw, "kept").await.len(), 1);
}

/// More than a page (100) of B's Devices match: the conditions are resolved over what A
/// sees, so a conditional update answers 404 and a conditional create 201, exactly as when
/// nothing matches, instead of a 400 telling that over 100 resources match.
#[tokio::test]
async fn more_than_a_page_of_hidden_matches_answers_as_no_match() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"resource": device(B, "many"), "request": {"method": "POST", "url": "Device"}}))
        .collect();
    let seeded = post_json(&gw, "", &system_token(&gw), &bundle("transaction", many)).await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);

    let put = |value: &str| {
        let url = gw.fhir(&format!("/Device?identifier=urn:dev|{value}"));
        let body = device(A, "x").to_string();
        let token = token.clone();
        async move {
            let r = support::client()
                .put(url)
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .body(body)
                .send()
                .await
                .expect("send");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    let (on_hidden, on_none) = (put("many").await, put("none").await);
    assert_eq!(on_hidden.0, 404, "{}", on_hidden.1);
    assert_eq!(on_hidden, on_none);

    let hidden = create_if(&gw, &token, &device(A, "many"), "identifier=urn:dev|many").await;
    let none = create_if(&gw, &token, &device(A, "few"), "identifier=urn:dev|few").await;
    assert_eq!(hidden.status, 201, "{}", hidden.body);
    assert_eq!(shape(&hidden), shape(&none));
    let count = get(
        &gw,
        "/Device?identifier=urn:dev|many&_summary=count",
        &system_token(&gw),
    )
    .await;
    assert_eq!(count.json()["total"], 102, "B's 101 and A's new one");
}
