//! A stored Bundle is a resource like any other (FHIR R4 bundle.html): a patient token sees
//! one only when nothing in it is about another patient — no entry naming one, no `link`
//! spelling another patient's id. Only the answer of the caller's own request (searchset,
//! history, batch-response) is filtered entry by entry. Attack finding MEDIUM 8
//! (30 Nov 2026): A saw B's stored collection Bundle (id, link `?subject=Patient/B`,
//! its Medication entry) with only B's Observation dropped.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

fn observation(of: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "subject": {"reference": format!("Patient/{of}")}})
}

fn medication() -> Value {
    json!({"resourceType": "Medication", "code": {"text": "amoxicillin"}})
}

/// A collection Bundle of `resources`, with a `self` link `link` if given.
fn collection(resources: &[Value], link: Option<String>) -> Value {
    let entry: Vec<Value> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-00000000000{i}"),
                "resource": r})
        })
        .collect();
    let mut bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entry});
    if let Some(url) = link {
        bundle["link"] = json!([{"relation": "self", "url": url}]);
    }
    bundle
}

async fn create(gw: &support::Gateway, bundle: &Value) -> String {
    let answer = post_json(gw, "/Bundle", &system_token(gw), bundle).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_stored_bundle_about_another_patient_is_withheld_whole() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let of_b = create(&gw, &collection(&[observation(B), medication()], None)).await;
    let b_link = Some(format!(
        "http://127.0.0.1/fhir/Observation?subject=Patient/{B}"
    ));
    let linked_b = create(&gw, &collection(&[medication()], b_link)).await;
    let a_link = Some(format!(
        "http://127.0.0.1/fhir/Observation?subject=Patient/{A}"
    ));
    let of_a = create(&gw, &collection(&[observation(A), medication()], a_link)).await;
    let shared = create(&gw, &collection(&[medication()], None)).await;

    // A search finds the stored Bundles; the ones about B are not shown at all.
    let search = format!("/Bundle?_id={of_b},{linked_b},{of_a},{shared}");
    let answer = get(&gw, &search, &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut expected = vec![of_a.clone(), shared.clone()];
    expected.sort();
    let mut found = answer.entry_ids("Bundle");
    found.sort();
    assert_eq!(found, expected);
    answer.assert_no_b(&[&of_b, &linked_b]);
    // What is shown is shown whole: A's Bundle keeps its Medication entry.
    let a_bundle = get(&gw, &format!("/Bundle/{of_a}"), &token).await;
    assert_eq!(a_bundle.status, 200, "{}", a_bundle.body);
    assert_eq!(a_bundle.json()["entry"].as_array().map(Vec::len), Some(2));

    // A stored Bundle of an answer's type is no answer of this request: its link naming B
    // withholds it too (the filter's fast path would otherwise pass its shared entry).
    let mut searchset = collection(
        &[medication()],
        Some(format!("Observation?subject=Patient/{B}")),
    );
    searchset["type"] = json!("searchset");
    let stored_searchset = create(&gw, &searchset).await;

    // Read by id: 404, like a missing Bundle.
    for id in [&of_b, &linked_b, &stored_searchset] {
        let answer = get(&gw, &format!("/Bundle/{id}"), &token).await;
        assert_eq!(answer.status, 404, "{}", answer.body);
        assert_eq!(answer.json()["issue"][0]["code"], "not-found");
    }

    // In a batch: the read is a 404 entry, the search keeps only what the token may see.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Bundle/{of_b}")}},
        {"request": {"method": "GET", "url": format!("Bundle/{shared}")}},
        {"request": {"method": "GET", "url": format!("Bundle?_id={of_b},{shared}")}}]});
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["entry"][0]["response"]["status"], "404 Not Found");
    assert_eq!(body["entry"][1]["response"]["status"], "200 OK");
    assert_eq!(body["entry"][1]["resource"]["id"], shared.as_str());
    let found: Vec<&str> = body["entry"][2]["resource"]["entry"]
        .as_array()
        .expect("searchset entries")
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str())
        .collect();
    assert_eq!(found, [shared.as_str()]);
    // (The nested searchset's self link echoes the caller's own `_id` query.)
    answer.assert_no_b(&[]);
}
