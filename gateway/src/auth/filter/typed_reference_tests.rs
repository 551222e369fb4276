//! A Reference typed `Patient` that names no local patient (a bare id, only an
//! `identifier`) names an unknown patient, in the fast path exactly as in the `Value` pass
//! (attack finding LOW 14 / N7): in reads, search answers, includes and stored Bundles.

use serde_json::{Value, json};

use super::tests::{body_or_status, subject};
use super::{Fast, fast_path, filter, filter_resource, scan, visible};
use crate::auth::compartment::patient_references;
use fhirgate_adapters::{FhirResponse, ResponseBody};

const SD: &str = "http://hl7.org/fhir/StructureDefinition/Patient";

/// Both passes read `text` alike: the same patients at the same paths, the same
/// `unresolved`; and where the fast path decides a resource, as [`visible`] does.
fn agree(text: &str) -> bool {
    let me = subject("patient/*.rs", "a");
    let value: Value = serde_json::from_str(text).expect("json");
    let mut unresolved = false;
    let tree = patient_references(&value, &me.local_bases, &mut unresolved);
    let scanned = scan::scan(text.as_bytes(), &me.local_bases).expect("scanned");
    assert_eq!(scanned.top.patients, tree, "{text}");
    assert_eq!(scanned.top.unresolved, unresolved, "{text}");
    let rt = value["resourceType"].as_str().expect("type");
    let shown = visible(&me, rt, &value);
    match fast_path(&me, text.as_bytes(), false, false) {
        Some(Fast::Unchanged) => assert!(shown, "{text}"),
        Some(Fast::Hidden(..)) => assert!(!shown, "{text}"),
        None => panic!("undecided: {text}"),
    }
    unresolved
}

#[test]
fn both_passes_read_a_reference_typed_patient_alike_in_any_member_order() {
    let unknown = [
        r#"{"resourceType":"Device","patient":{"type":"Patient","reference":"b"}}"#.to_owned(),
        r#"{"resourceType":"Device","patient":{"reference":"b","type":"Patient"}}"#.to_owned(),
        format!(r#"{{"resourceType":"Device","patient":{{"reference":"b","type":"{SD}"}}}}"#),
        r#"{"resourceType":"Device","patient":{"reference":"b","type":"Pati\u0065nt"}}"#.to_owned(),
        r#"{"resourceType":"Device","patient":{"identifier":{"value":"1"},"type":"Patient"}}"#
            .to_owned(),
        r#"{"resourceType":"Device","patient":{"type":"Patient","reference":"Group/g"}}"#
            .to_owned(),
        r#"{"resourceType":"Device","owner":{"reference":"Patient/a"},
            "contained":[{"resourceType":"Basic","subject":{"reference":"b","type":"Patient"}}]}"#
            .to_owned(),
        r#"{"resourceType":"List","subject":{"reference":"Patient/a"},
            "entry":[{"item":{"type":"Patient","reference":"b"}}]}"#
            .to_owned(),
        r#"{"resourceType":"List","subject":{"reference":"Patient/a"},
            "entry":[{"reference":"b","type":"Patient"}]}"#
            .to_owned(),
    ];
    for text in &unknown {
        assert!(agree(text), "{text}");
    }
    let known = [
        r#"{"resourceType":"Device","patient":{"reference":"Patient/a","type":"Patient"}}"#,
        r#"{"resourceType":"Device","patient":{"type":"Patient","reference":"http://h/fhir/Patient/a"}}"#,
        r##"{"resourceType":"Device","patient":{"type":"Patient","reference":"#p"},
            "contained":[{"resourceType":"Patient","id":"p"}]}"##,
        r#"{"resourceType":"Device","patient":{"type":"Group","reference":"b"}}"#,
        r#"{"resourceType":"Device","patient":{"reference":"b"}}"#,
        r#"{"resourceType":"Device","patient":{"type":"Patient","display":"someone"}}"#,
        r#"{"resourceType":"CapabilityStatement","rest":[{"resource":[{"type":"Patient"}]}]}"#,
    ];
    for text in known {
        assert!(!agree(text), "{text}");
    }
    // A compartment resource stays its anchor's: a's Observation naming b that way is a's
    // to read (as with `Patient/b` there); one whose subject is a bare id is no one's.
    let me = subject("patient/*.rs", "a");
    let own = r#"{"resourceType":"Observation","subject":{"reference":"Patient/a"},
        "focus":[{"reference":"b","type":"Patient"}]}"#;
    assert!(agree(own));
    assert!(matches!(
        fast_path(&me, own.as_bytes(), false, false),
        Some(Fast::Unchanged)
    ));
    let bare = r#"{"resourceType":"Observation","subject":{"type":"Patient","reference":"a"}}"#;
    assert!(agree(bare));
    assert!(matches!(
        fast_path(&me, bare.as_bytes(), false, false),
        Some(Fast::Hidden(..))
    ));
}

/// The whole filter's answer to `body`: the body or the status.
async fn filtered(body: &Value, single: bool) -> Result<Value, u16> {
    let me = subject("patient/*.rs", "a");
    let answer = FhirResponse {
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: ResponseBody::Full(bytes::Bytes::from(body.to_string())),
    };
    let result = if single {
        filter_resource(&me, answer).await
    } else {
        filter(&me, answer, None).await
    };
    body_or_status(result)
}

fn device(id: &str, patient: Value) -> Value {
    json!({"resourceType": "Device", "id": id, "patient": patient})
}

#[tokio::test]
async fn reads_searches_includes_and_stored_bundles_withhold_it() {
    let bare_b = device("1", json!({"type": "Patient", "reference": "b"}));
    let by_identifier = device(
        "2",
        json!({"type": SD, "identifier": {"system": "urn:mrn", "value": "b"}}),
    );
    let own = device("3", json!({"type": "Patient", "reference": "Patient/a"}));
    for withheld in [&bare_b, &by_identifier] {
        assert_eq!(filtered(withheld, true).await, Err(404), "{withheld}");
    }
    assert_eq!(filtered(&own, true).await, Ok(own.clone()));

    let obs = json!({"resourceType": "Observation", "id": "o",
        "subject": {"reference": "Patient/a"}, "device": {"reference": "Device/1"}});
    let searchset = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": obs, "search": {"mode": "match"}},
        {"resource": bare_b, "search": {"mode": "include"}},
        {"resource": by_identifier, "search": {"mode": "match"}},
        {"resource": own, "search": {"mode": "match"}}]});
    let answer = filtered(&searchset, false).await.expect("answer");
    let ids: Vec<&str> = answer["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str())
        .collect();
    assert_eq!(ids, ["o", "3"]);

    // A stored Bundle naming b that way is withheld whole, read or found by a search.
    let stored = json!({"resourceType": "Bundle", "id": "s", "type": "collection",
        "entry": [{"resource": own}, {"resource": bare_b}]});
    assert_eq!(filtered(&stored, true).await, Err(404));
    let found = json!({"resourceType": "Bundle", "type": "searchset",
        "entry": [{"resource": stored, "search": {"mode": "match"}}]});
    let answer = filtered(&found, false).await.expect("answer");
    assert_eq!(answer["entry"], json!([]));
}
