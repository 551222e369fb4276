//! Link rewriting: the tree path and the text path, which must agree.

use super::*;
use serde_json::json;

fn bases() -> (Base, Base) {
    let up = Base::parse("http://up:8080/fhir/R4").expect("base");
    let gw = Base::parse("https://gw.example.org/fhir").expect("base");
    (up, gw)
}

#[test]
fn rewrites_searchset_links_and_full_urls() {
    let (up, gw) = bases();
    let mut b: Value = serde_json::from_str(
        r#"{"resourceType": "Bundle", "type": "searchset",
        "link": [{"relation": "next", "url": "http://up:8080/fhir/R4/Observation?code=http://loinc.org|8867-4&_offset=2"}],
        "entry": [{"fullUrl": "http://up:8080/fhir/R4/Observation/1",
                    "resource": {"resourceType": "Observation", "id": "1", "valueQuantity": {"value": 72.10}}}]}"#,
    )
    .expect("json");
    assert!(rewrite_links(&mut b, &up, &gw));
    assert_eq!(
        b["link"][0]["url"],
        "https://gw.example.org/fhir/Observation?code=http://loinc.org|8867-4&_offset=2"
    );
    assert_eq!(
        b["entry"][0]["fullUrl"],
        "https://gw.example.org/fhir/Observation/1"
    );
    // Decimals stay exact (arbitrary_precision).
    assert!(b.to_string().contains("72.10"));
}

#[test]
fn rewrites_batch_response_locations_and_nested_bundles() {
    let (up, gw) = bases();
    let mut b = json!({
        "resourceType": "Bundle", "type": "batch-response",
        "entry": [
            {"response": {"status": "201 Created", "location": "http://up:8080/fhir/R4/Patient/9/_history/1"}},
            {"resource": {"resourceType": "Bundle", "type": "searchset",
                           "link": [{"relation": "self", "url": "http://up:8080/fhir/R4/Patient?_id=9"}]},
             "response": {"status": "200 OK"}},
            {"fullUrl": "urn:uuid:0b7e4a4e-0000-4000-8000-000000000001",
             "response": {"status": "201 Created", "location": "Patient/10/_history/1"}}
        ]
    });
    assert!(rewrite_links(&mut b, &up, &gw));
    assert_eq!(
        b["entry"][0]["response"]["location"],
        "https://gw.example.org/fhir/Patient/9/_history/1"
    );
    assert_eq!(
        b["entry"][1]["resource"]["link"][0]["url"],
        "https://gw.example.org/fhir/Patient?_id=9"
    );
    assert_eq!(
        b["entry"][2]["fullUrl"],
        "urn:uuid:0b7e4a4e-0000-4000-8000-000000000001"
    );
    assert_eq!(
        b["entry"][2]["response"]["location"],
        "Patient/10/_history/1"
    );
}

#[test]
fn leaves_other_resources_alone() {
    let (up, gw) = bases();
    let mut oo = json!({"resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "diagnostics": "http://up:8080/fhir/R4/Patient/1"}]});
    let before = oo.clone();
    assert!(!rewrite_links(&mut oo, &up, &gw));
    assert_eq!(oo, before);
    let mut p = json!({"resourceType": "Patient", "link": [{"url": "http://up:8080/fhir/R4/x"}]});
    assert!(!rewrite_links(&mut p, &up, &gw));
    assert!(!rewrite_links(&mut json!([1, 2]), &up, &gw));
}

#[test]
fn preserves_element_order() {
    let (up, gw) = bases();
    let mut b: Value = serde_json::from_str(
        r#"{"resourceType":"Bundle","id":"x","type":"searchset","total":1,"link":[{"relation":"self","url":"http://up:8080/fhir/R4/Patient"}]}"#,
    ).expect("json");
    assert!(rewrite_links(&mut b, &up, &gw));
    assert_eq!(
        b.to_string(),
        r#"{"resourceType":"Bundle","id":"x","type":"searchset","total":1,"link":[{"relation":"self","url":"https://gw.example.org/fhir/Patient"}]}"#
    );
}

/// The text path and the tree path agree, and the text path changes only link bytes.
fn both(text: &str) -> (Option<Vec<u8>>, Value) {
    let (up, gw) = bases();
    let fast = rewrite_links_in_text(text.as_bytes(), &up, &gw).expect("modelled shape");
    let mut tree: Value = serde_json::from_str(text).expect("json");
    let changed = rewrite_links(&mut tree, &up, &gw);
    assert_eq!(fast.is_some(), changed);
    if let Some(bytes) = &fast {
        let parsed: Value = serde_json::from_slice(bytes).expect("text path gives JSON");
        assert_eq!(parsed, tree);
    }
    (fast, tree)
}

#[test]
fn text_path_rewrites_only_the_link_bytes() {
    let input = r#"{ "resourceType": "Bundle",  "type": "searchset",
        "link": [{"relation": "next", "url": "http:\/\/up:8080\/fhir\/R4\/Observation?_offset=2"}],
        "entry": [{"fullUrl": "http://up:8080/fhir/R4/Observation/1",
                   "resource": {"resourceType": "Observation", "id": "1", "valueQuantity": {"value": 72.10},
                                "subject": {"reference": "http://up:8080/fhir/R4/Patient/a"}},
                   "search": {"mode": "match"}},
                  {"fullUrl": "urn:uuid:0b7e4a4e-0000-4000-8000-000000000001"}]}"#;
    let (fast, tree) = both(input);
    let out = String::from_utf8(fast.expect("changed")).expect("utf-8");
    let expected = input
        .replace(
            r#""http:\/\/up:8080\/fhir\/R4\/Observation?_offset=2""#,
            r#""https://gw.example.org/fhir/Observation?_offset=2""#,
        )
        .replace(
            r#""http://up:8080/fhir/R4/Observation/1""#,
            r#""https://gw.example.org/fhir/Observation/1""#,
        );
    // Whitespace, decimals and references inside resources are exactly as received.
    assert_eq!(out, expected);
    assert_eq!(
        tree["entry"][0]["resource"]["subject"]["reference"],
        "http://up:8080/fhir/R4/Patient/a"
    );
}

#[test]
fn text_path_handles_batch_responses_and_nested_bundles() {
    let input = json!({
        "resourceType": "Bundle", "type": "batch-response",
        "entry": [
            {"response": {"status": "201 Created", "location": "http://up:8080/fhir/R4/Patient/9/_history/1"}},
            {"resource": {"type": "searchset", "resourceType": "Bundle",
                           "link": [{"relation": "self", "url": "http://up:8080/fhir/R4/Patient?_id=9"}],
                           "entry": [{"fullUrl": "http://up:8080/fhir/R4/Patient/9", "resource": {"resourceType": "Patient", "id": "9",
                                      "link": [{"other": {"reference": "Patient/8"}, "type": "seealso"}]}}]},
             "response": {"status": "200 OK"}},
            {"resource": {"resourceType": "List", "entry": [{"item": {"reference": "Patient/9"}}]}}
        ]
    })
    .to_string();
    let (fast, tree) = both(&input);
    assert!(fast.is_some());
    assert_eq!(
        tree["entry"][1]["resource"]["entry"][0]["fullUrl"],
        "https://gw.example.org/fhir/Patient/9"
    );
}

#[test]
fn text_path_leaves_unchanged_bodies_and_declines_unmodelled_shapes() {
    assert!(both(r#"{"resourceType":"OperationOutcome","issue":[{"diagnostics":"http://up:8080/fhir/R4/Patient/1"}]}"#).0.is_none());
    assert!(both(r#"{"resourceType":"Bundle","type":"searchset","link":[{"url":"https://gw.example.org/fhir/Patient"}]}"#).0.is_none());
    let (up, gw) = bases();
    for odd in [
        r#"{"resourceType":"Bundle","link":{"url":"http://up:8080/fhir/R4/x"}}"#,
        r#"{"resourceType":"Bundle","entry":[1]}"#,
        r#"{"resourceType":"Bundle","entry":[],"entry":[]}"#,
        r#"{"resourceType":"Bundle""#,
        // Entry resources are read in the same pass: a `link` or `entry` of a shape no
        // Bundle has declines too, even in a resource that is no Bundle.
        r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Basic","link":"x"}}]}"#,
    ] {
        assert!(
            rewrite_links_in_text(odd.as_bytes(), &up, &gw).is_err(),
            "{odd}"
        );
    }
}

#[test]
fn an_entry_resource_the_text_path_declines_is_rewritten_by_the_tree_path() {
    let (up, gw) = bases();
    let input = r#"{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"http://up:8080/fhir/R4/Basic/1","resource":{"resourceType":"Basic","id":"1","link":"x"}}]}"#;
    assert!(rewrite_links_in_text(input.as_bytes(), &up, &gw).is_err());
    let mut tree: Value = serde_json::from_str(input).expect("json");
    assert!(rewrite_links(&mut tree, &up, &gw));
    assert_eq!(
        tree["entry"][0]["fullUrl"],
        "https://gw.example.org/fhir/Basic/1"
    );
    assert_eq!(tree["entry"][0]["resource"]["link"], "x");
}
