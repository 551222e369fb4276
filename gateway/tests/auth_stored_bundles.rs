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

/// A `searchset` Bundle of `resources` (stored as a resource, not an answer), each entry
/// with its `fullUrl` under the gateway's base.
async fn stored_searchset(gw: &support::Gateway, resources: &[Value]) -> String {
    let system = system_token(gw);
    let mut entry = Vec::new();
    for resource in resources {
        let rt = resource["resourceType"].as_str().expect("resourceType");
        let answer = post_json(gw, &format!("/{rt}"), &system, resource).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let created = answer.json();
        let id = created["id"].as_str().expect("id");
        entry.push(json!({"fullUrl": gw.fhir(&format!("/{rt}/{id}")), "resource": created}));
    }
    create(
        gw,
        &json!({"resourceType": "Bundle", "type": "searchset",
            "identifier": {"system": "urn:x", "value": "stored"}, "entry": entry}),
    )
    .await
}

/// Attack finding HIGH (30 Nov 2026): a stored Bundle of an answer's type (`searchset`)
/// read by id was filtered entry by entry as if it were A's own search, showing B's
/// Bundle (id, meta, identifier) with `"entry": []`. Read by id it is one stored resource:
/// judged whole, and withheld exactly as a missing id.
#[tokio::test]
async fn a_stored_searchset_read_by_id_is_judged_whole() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let of_b = stored_searchset(&gw, &[observation(B)]).await;
    let of_a = stored_searchset(&gw, &[observation(A)]).await;

    for (path, missing) in [
        (
            format!("/Bundle/{of_b}"),
            "/Bundle/no-such-bundle".to_owned(),
        ),
        (
            format!("/Bundle/{of_b}/_history/1"),
            "/Bundle/no-such-bundle/_history/1".to_owned(),
        ),
    ] {
        let answer = get(&gw, &path, &token).await;
        let absent = get(&gw, &missing, &token).await;
        assert_eq!(absent.status, 404, "{}", absent.body);
        assert_eq!(
            (answer.status, answer.json()),
            (404, absent.json()),
            "{path}"
        );
        let head = send(reqwest::Method::HEAD, &gw.fhir(&path), Some(&token), None).await;
        let absent = send(
            reqwest::Method::HEAD,
            &gw.fhir(&missing),
            Some(&token),
            None,
        )
        .await;
        assert_eq!((head.status, head.body), (404, absent.body), "HEAD {path}");
    }

    // A's own stored searchset stays readable, whole.
    for path in [
        format!("/Bundle/{of_a}"),
        format!("/Bundle/{of_a}/_history/1"),
    ] {
        let answer = get(&gw, &path, &token).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = answer.json();
        assert_eq!(body["id"], of_a.as_str());
        assert_eq!(body["entry"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            body["entry"][0]["resource"]["subject"]["reference"],
            format!("Patient/{A}")
        );
    }
}

/// The same read inside A's batch (R4 http.html §3.1.0.11.1: each entry as if sent alone):
/// the entry answers what a missing id's entry answers; A's own one is shown whole.
#[tokio::test]
async fn a_stored_searchset_read_in_a_batch_is_judged_whole() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let of_b = stored_searchset(&gw, &[observation(B)]).await;
    let of_a = stored_searchset(&gw, &[observation(A)]).await;
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Bundle/{of_b}")}},
        {"request": {"method": "GET", "url": format!("Bundle/{of_b}/_history/1")}},
        {"request": {"method": "GET", "url": "Bundle/no-such-bundle"}},
        {"request": {"method": "GET", "url": format!("Bundle/{of_a}")}}]});
    let answer = post_json(&gw, "", &token, &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    let missing = &body["entry"][2];
    assert_eq!(missing["response"]["status"], "404 Not Found");
    assert_eq!(body["entry"][0], *missing);
    assert_eq!(body["entry"][1], *missing);
    assert_eq!(body["entry"][3]["response"]["status"], "200 OK");
    let own = &body["entry"][3]["resource"];
    assert_eq!(own["id"], of_a.as_str());
    assert_eq!(own["entry"].as_array().map(Vec::len), Some(1));
    answer.assert_no_b(&[&of_b]);
}

/// In A's transaction, a read of B's stored searchset refuses the transaction exactly as a
/// read of a missing id does (`lookup::check_readable` judges the Bundle whole); A's own
/// one is read whole.
#[tokio::test]
async fn a_stored_searchset_read_in_a_transaction_is_judged_whole() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    let of_b = stored_searchset(&gw, &[observation(B)]).await;
    let of_a = stored_searchset(&gw, &[observation(A)]).await;
    // Nothing but its link names B: no reference the Bundle's own grant check would see.
    let mut linked = collection(
        &[medication()],
        Some(format!("Observation?subject=Patient/{B}")),
    );
    linked["type"] = json!("searchset");
    let linked_b = create(&gw, &linked).await;
    let transaction = |url: String| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "GET", "url": url}}]})
    };
    let absent = post_json(
        &gw,
        "",
        &token,
        &transaction("Bundle/no-such-bundle".into()),
    )
    .await;
    assert_eq!(absent.status, 403, "{}", absent.body);
    for id in [&of_b, &linked_b] {
        let answer = post_json(&gw, "", &token, &transaction(format!("Bundle/{id}"))).await;
        assert_eq!((answer.status, answer.json()), (403, absent.json()), "{id}");
    }
    let own = post_json(&gw, "", &token, &transaction(format!("Bundle/{of_a}"))).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let own = own.json();
    assert_eq!(own["entry"][0]["resource"]["id"], of_a.as_str());
    assert_eq!(
        own["entry"][0]["resource"]["entry"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
