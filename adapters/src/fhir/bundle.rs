//! One pass over an upstream JSON body (`serde_json::Value`, never typed models) rewriting
//! the links of Bundles (FHIR R4 `Bundle` resource): `Bundle.link.url`, `Bundle.entry.fullUrl`
//! and `Bundle.entry.response.location`, also in Bundles nested as `entry.resource` (the
//! searchset inside a batch-response; FHIR R4 RESTful API, "Batch/Transaction").
//!
//! Other resources (OperationOutcome included) are never touched.

use serde_json::Value;

use super::rewrite::{Base, rewrite};

/// Rewrites the links of `value` (when it is a Bundle) from `upstream` to `public`.
/// Returns whether anything changed, so unchanged bodies can be forwarded byte for byte.
pub fn rewrite_links(value: &mut Value, upstream: &Base, public: &Base) -> bool {
    let Some(bundle) = value.as_object_mut() else {
        return false;
    };
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return false;
    }
    let mut changed = false;
    let mut fix = |slot: Option<&mut Value>| {
        if let Some(slot) = slot
            && let Some(new) = slot.as_str().and_then(|s| rewrite(s, upstream, public))
        {
            *slot = Value::String(new);
            changed = true;
        }
    };
    if let Some(links) = bundle.get_mut("link").and_then(Value::as_array_mut) {
        for link in links {
            fix(link.get_mut("url"));
        }
    }
    let mut nested = false;
    if let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
        for entry in entries {
            fix(entry.get_mut("fullUrl"));
            fix(entry
                .get_mut("response")
                .and_then(|r| r.get_mut("location")));
            if let Some(resource) = entry.get_mut("resource") {
                nested |= rewrite_links(resource, upstream, public);
            }
        }
    }
    changed || nested
}

#[cfg(test)]
mod tests {
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
        let mut p =
            json!({"resourceType": "Patient", "link": [{"url": "http://up:8080/fhir/R4/x"}]});
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
}
