//! The fast path decides exactly as the `Value` pass wherever it decides.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Fast, fast_path, filter, filter_bundle};
use crate::auth::access::{Reach, Subject};
use crate::auth::identity::Identity;
use fhirgate_adapters::{FhirResponse, ResponseBody};

pub(super) fn subject(scope: &str, patient: &str) -> Subject {
    let mut claims = Map::new();
    claims.insert("scope".into(), json!(scope));
    claims.insert("patient".into(), json!(patient));
    claims.insert("client_id".into(), json!("app"));
    let identity = Identity::from_claims(&claims, "iss", u64::MAX).expect("identity");
    Subject {
        identity: Arc::new(identity),
        user_reach: Reach::All,
        local_bases: crate::auth::local_base::LocalBases::new(["http://h/fhir"]),
    }
}

/// Buster Hoeger's Synthea resources from the shipped fixture, as a searchset.
fn searchset() -> (Value, String) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/synthea/synthea-r4-transaction-Buster_Hoeger.json"
    ))
    .expect("fixture");
    let bundle: Value = serde_json::from_str(&text).expect("json");
    let patient = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .and_then(|e| e["resource"]["id"].as_str())
        .expect("patient")
        .to_owned();
    // Transaction bundles use urn:uuid: references; make them literal as a server would.
    let literal = text
        .replace(
            &format!("urn:uuid:{patient}"),
            &format!("Patient/{patient}"),
        )
        .replace("urn:uuid:", "Encounter/");
    let bundle: Value = serde_json::from_str(&literal).expect("json");
    let entries: Vec<Value> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Observation")
        .take(25)
        .map(|e| json!({"resource": e["resource"], "search": {"mode": "match"}}))
        .collect();
    (
        json!({"resourceType": "Bundle", "type": "searchset", "entry": entries}),
        patient,
    )
}

/// The whole filter (fast path, then the `Value` pass): the answer body or the status.
async fn slow(subject: &Subject, body: &Value) -> Result<Value, u16> {
    search(subject, body, None).await
}

/// [`slow`] for the answer to a type-level search on `searched`.
async fn search(subject: &Subject, body: &Value, searched: Option<&str>) -> Result<Value, u16> {
    let answer = FhirResponse {
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: ResponseBody::Full(bytes::Bytes::from(body.to_string())),
    };
    body_or_status(filter(subject, answer, searched).await)
}

/// What a filter answered: the JSON body, or the status of its error (0 for a stream).
pub(super) fn body_or_status(
    result: Result<FhirResponse, crate::error::GatewayError>,
) -> Result<Value, u16> {
    match result {
        Ok(r) => match r.body {
            ResponseBody::Full(b) => Ok(serde_json::from_slice(&b).expect("json")),
            ResponseBody::Stream(_) => Err(0),
        },
        Err(e) => Err(axum::response::IntoResponse::into_response(e)
            .status()
            .as_u16()),
    }
}

#[tokio::test]
async fn an_own_searchset_passes_untouched_through_the_fast_path() {
    let (bundle, patient) = searchset();
    let me = subject("patient/*.rs", &patient);
    let bytes = bundle.to_string();
    assert!(matches!(
        fast_path(&me, bytes.as_bytes(), false, false),
        Some(Fast::Unchanged)
    ));
    assert_eq!(
        slow(&me, &bundle).await.expect("passes")["entry"]
            .as_array()
            .map(Vec::len),
        bundle["entry"].as_array().map(Vec::len)
    );
}

#[tokio::test]
async fn another_patients_entry_is_left_to_the_value_pass_which_drops_it() {
    let (mut bundle, patient) = searchset();
    let entries = bundle["entry"].as_array_mut().expect("entries");
    let n = entries.len();
    entries[1]["resource"]["subject"]["reference"] = json!("Patient/someone-else");
    let me = subject("patient/*.rs", &patient);
    assert!(fast_path(&me, bundle.to_string().as_bytes(), false, false).is_none());
    let filtered = slow(&me, &bundle).await.expect("answer");
    assert_eq!(filtered["entry"].as_array().map(Vec::len), Some(n - 1));
}

#[tokio::test]
async fn only_the_anchor_element_makes_a_resource_the_patients() {
    let me = subject("patient/*.rs", "a");
    for resource in [
        // a named only inside a contained resource, an extension, or as performer.
        json!({"resourceType": "Observation", "subject": {"reference": "Patient/b"},
               "contained": [{"resourceType": "Observation", "subject": {"reference": "Patient/a"}}]}),
        json!({"resourceType": "Observation", "subject": {"reference": "http://h/fhir/Patient/b/_history/2"},
               "extension": [{"url": "x", "valueReference": {"reference": "Patient/a"}}]}),
        json!({"resourceType": "Observation", "subject": {"reference": "Patient/b"},
               "performer": [{"reference": "Patient/a"}]}),
        json!({"resourceType": "Observation", "subject": {"reference": "urn:uuid:1"},
               "focus": [{"reference": "Patient/#x"}]}),
        json!({"resourceType": "Observation", "subject": {"display": "nobody"}}),
        json!({"resourceType": "Observation", "subject": {"extension": [{"url": "x", "valueReference": {"reference": "Patient/a"}}]}}),
    ] {
        let text = resource.to_string();
        assert!(
            matches!(
                fast_path(&me, text.as_bytes(), false, false),
                Some(Fast::Hidden(_, _))
            ),
            "{text}"
        );
        assert_eq!(slow(&me, &resource).await, Err(404), "{text}");
    }
    // An escaped member name is the same member.
    let escaped = r#"{"resourceType":"Observation","subject":{"refer\u0065nce":"Patient/b"}}"#;
    assert!(matches!(
        fast_path(&me, escaped.as_bytes(), false, false),
        Some(Fast::Hidden(_, _))
    ));
    let escaped = r#"{"resourceType":"Observation","subj\u0065ct":{"reference":"Patient/a"}}"#;
    assert!(matches!(
        fast_path(&me, escaped.as_bytes(), false, false),
        Some(Fast::Unchanged)
    ));
    // a's own Observation stays a's whatever else it names (FHIR R4 patient compartment).
    for own in [
        json!({"resourceType": "Observation", "subject": {"reference": "Patient/a"}, "valueQuantity": {"value": 72.10}}),
        json!({"resourceType": "Observation", "subject": {"reference": "http://h/fhir/Patient/a"},
               "performer": [{"reference": "Patient/b"}],
               "contained": [{"resourceType": "Provenance", "target": [{"reference": "Patient/b"}]}]}),
        json!({"resourceType": "Appointment", "participant": [
               {"actor": {"reference": "Practitioner/p"}}, {"actor": {"reference": "Patient/a"}}]}),
    ] {
        let text = own.to_string();
        assert!(
            matches!(
                fast_path(&me, text.as_bytes(), false, false),
                Some(Fast::Unchanged)
            ),
            "{text}"
        );
    }
}

#[tokio::test]
async fn what_the_fast_path_cannot_decide_goes_to_the_value_pass() {
    let me = subject("patient/*.rs", "a");
    let nested = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Bundle", "type": "collection", "entry": []}}]});
    assert!(fast_path(&me, nested.to_string().as_bytes(), false, false).is_none());
    let deleted = json!({"resourceType": "Bundle", "type": "history", "entry": [
        {"request": {"method": "DELETE", "url": "Observation/1"}}]});
    assert!(fast_path(&me, deleted.to_string().as_bytes(), false, false).is_none());
    let granular = subject("patient/Observation.rs?category=vital-signs", "a");
    let obs = json!({"resourceType": "Observation", "subject": {"reference": "Patient/a"}});
    assert!(fast_path(&granular, obs.to_string().as_bytes(), false, false).is_none());
    assert!(fast_path(&me, b"{\"resourceType\": \"Observation\"", false, false).is_none());
    assert!(fast_path(&me, b"[1]", false, false).is_none());
}

#[tokio::test]
async fn a_list_entry_is_its_own_content_not_a_bundle_entry() {
    let me = subject("patient/*.rs", "a");
    let list = json!({"resourceType": "List", "subject": {"reference": "Patient/b"},
        "entry": [{"item": {"reference": "Patient/a"}}]});
    assert!(matches!(
        fast_path(&me, list.to_string().as_bytes(), false, false),
        Some(Fast::Hidden(_, _))
    ));
    assert_eq!(slow(&me, &list).await, Err(404));
    let list = json!({"resourceType": "List", "subject": {"reference": "Patient/a"},
        "entry": [{"item": {"reference": "Patient/b"}}]});
    assert!(matches!(
        fast_path(&me, list.to_string().as_bytes(), false, false),
        Some(Fast::Unchanged)
    ));
}

#[tokio::test]
async fn a_batch_response_filtered_entry_by_entry_equals_the_whole_tree_pass() {
    let (mut searchset, patient) = searchset();
    searchset["entry"][1]["resource"]["subject"]["reference"] = json!("Patient/someone-else");
    let own = searchset["entry"][0]["resource"].clone();
    let mut foreign = own.clone();
    foreign["subject"]["reference"] = json!("Patient/someone-else");
    let ok = |resource: &Value| json!({"resource": resource, "response": {"status": "200 OK"}});
    let response = json!({
        "resourceType": "Bundle", "id": "b", "type": "batch-response", "total": 9,
        "entry": [
            ok(&searchset), ok(&own), ok(&foreign),
            {"response": {"status": "404 Not Found", "outcome": {"resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-found", "diagnostics": "Observation/x"}]}}},
            {"response": {"status": "201 Created", "location": "Observation/1/_history/1"}}
        ]
    });
    let me = subject("patient/*.rs", &patient);
    let text = response.to_string();
    let by_entry = super::entries::filter_response(&me, text.as_bytes())
        .expect("a batch-response")
        .expect("changed");
    let by_entry: Value = serde_json::from_slice(&by_entry).expect("json");
    let mut whole = response.clone();
    assert!(filter_bundle(&me, &mut whole));
    if let Some(map) = whole.as_object_mut() {
        map.remove("total");
    }
    assert_eq!(by_entry, whole);
    assert_eq!(
        by_entry["entry"][0]["resource"]["entry"]
            .as_array()
            .map(Vec::len),
        Some(24)
    );
    assert_eq!(by_entry["entry"][1]["resource"]["id"], own["id"]);
    assert_eq!(by_entry["entry"][2]["response"]["status"], "404 Not Found");
    assert_eq!(
        by_entry["entry"][3]["response"]["outcome"]["issue"][0]["diagnostics"],
        "resource not found"
    );
    assert_eq!(by_entry["entry"][4]["response"]["status"], "201 Created");
    assert!(by_entry.get("total").is_none());
    let untouched =
        json!({"resourceType": "Bundle", "type": "batch-response", "entry": [ok(&own)]});
    assert_eq!(
        super::entries::filter_response(&me, untouched.to_string().as_bytes()),
        Some(None)
    );
}

/// A searchset of `rt` with `total`, one entry naming `patient` under `element`.
fn counted(rt: &str, element: &str, patient: &str, total: u64) -> Value {
    json!({"resourceType": "Bundle", "type": "searchset", "total": total,
        "link": [{"relation": "self", "url": format!("http://g/fhir/{rt}?_count=1")}],
        "entry": [{"resource": {"resourceType": rt, "id": "x", "status": "active",
            element: {"reference": format!("Patient/{patient}")}}}]})
}

#[tokio::test]
async fn a_search_outside_the_compartment_never_shows_a_restricted_caller_the_total() {
    let me = subject(
        "patient/Device.rs patient/Task.rs patient/Observation.rs",
        "a",
    );
    // Fast path: the one entry is a's, nothing is dropped, yet the total goes.
    let device = counted("Device", "patient", "a", 5);
    assert!(fast_path(&me, device.to_string().as_bytes(), true, false).is_none());
    let filtered = search(&me, &device, Some("Device")).await.expect("answer");
    let mut expected = device.clone();
    expected.as_object_mut().map(|m| m.remove("total"));
    assert_eq!(filtered, expected);
    let task = counted("Task", "for", "a", 3);
    assert_eq!(
        search(&me, &task, Some("Task"))
            .await
            .expect("answer")
            .get("total"),
        None
    );
    // `_summary=count`: no entries, only the total.
    let count = json!({"resourceType": "Bundle", "type": "searchset", "total": 7});
    assert_eq!(
        search(&me, &count, Some("Device")).await.expect("answer"),
        json!({"resourceType": "Bundle", "type": "searchset"})
    );
    // Narrowed types keep their exact total.
    assert_eq!(
        search(&me, &count, Some("Observation"))
            .await
            .expect("answer"),
        count
    );
    let obs = counted("Observation", "subject", "a", 1);
    assert_eq!(
        search(&me, &obs, Some("Observation"))
            .await
            .expect("answer"),
        obs
    );
    // A caller reaching every patient's Devices gets the total.
    let system = subject("system/Device.rs patient/Observation.rs", "a");
    assert_eq!(
        search(&system, &device, Some("Device"))
            .await
            .expect("answer"),
        device
    );
}

#[tokio::test]
async fn the_value_pass_and_nested_searchsets_lose_the_total_too() {
    // A granular scope leaves the answer to the `Value` pass, which keeps the entry.
    let me = subject("patient/Device.rs?status=active", "a");
    let device = counted("Device", "patient", "a", 5);
    assert!(fast_path(&me, device.to_string().as_bytes(), false, false).is_none());
    let filtered = search(&me, &device, Some("Device")).await.expect("answer");
    assert_eq!(filtered.get("total"), None);
    assert_eq!(filtered["entry"], device["entry"]);
    // In a batch-response, by the nested searchset's `self` link.
    let me = subject("patient/Device.rs patient/Observation.rs", "a");
    let obs = counted("Observation", "subject", "a", 1);
    let ok = |resource: &Value| json!({"resource": resource, "response": {"status": "200 OK"}});
    let response = json!({"resourceType": "Bundle", "type": "batch-response",
        "entry": [ok(&device), ok(&obs), ok(&json!({"resourceType": "Bundle", "type": "searchset", "total": 2}))]});
    let filtered = slow(&me, &response).await.expect("answer");
    let mut device_without = device.clone();
    device_without.as_object_mut().map(|m| m.remove("total"));
    assert_eq!(
        filtered["entry"],
        json!([
            ok(&device_without),
            ok(&obs),
            ok(&json!({"resourceType": "Bundle", "type": "searchset"}))
        ])
    );
}

#[tokio::test]
async fn another_servers_patient_is_not_ours() {
    // The subject's local base is http://h/fhir; A's id is "a".
    let me = subject("patient/*.rs", "a");
    let foreign = "https://other.example/fhir/Patient/a";
    for resource in [
        json!({"resourceType": "Observation", "subject": {"reference": foreign}}),
        json!({"resourceType": "Observation", "subject": {"reference": format!("{foreign}/_history/1")}}),
        // Outside the compartment: another server's patient makes it invisible too.
        json!({"resourceType": "Device", "patient": {"reference": foreign}}),
        json!({"resourceType": "Device", "patient": {"reference": "Patient/a"},
               "owner": {"reference": foreign}}),
    ] {
        let text = resource.to_string();
        assert!(
            matches!(
                fast_path(&me, text.as_bytes(), false, false),
                Some(Fast::Hidden(_, _))
            ),
            "{text}"
        );
        assert_eq!(slow(&me, &resource).await, Err(404), "{text}");
    }
    let searchset = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Observation", "id": "1", "subject": {"reference": foreign}}},
        {"resource": {"resourceType": "Observation", "id": "2", "subject": {"reference": "http://h/fhir/Patient/a"}}},
        {"resource": {"resourceType": "Observation", "id": "3", "subject": {"reference": "Patient/a/_history/4"}}}]});
    let filtered = slow(&me, &searchset).await.expect("answer");
    let ids: Vec<&str> = filtered["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str())
        .collect();
    assert_eq!(ids, ["2", "3"]);
}
