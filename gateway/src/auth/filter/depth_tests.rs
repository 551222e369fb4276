//! The write-time depth bound (`fhirgate_conformance::depth::MAX_DEPTH`) is what the filter
//! can read back: a resource that deep, inside the deepest answer (a searchset in a
//! batch-response), is still decided; one level more is not.

use serde_json::{Value, json};

use super::scan::scan;
use crate::auth::local_base::LocalBases;
use fhirgate_conformance::depth::{MAX_DEPTH, depth};

/// A Device nesting `levels` arrays and objects (levels odd, at least 3).
fn device(levels: usize) -> Value {
    let mut e = json!({"url": "urn:x", "valueString": "v"});
    for _ in 0..(levels - 3) / 2 {
        e = json!({"url": "urn:x", "extension": [e]});
    }
    json!({"resourceType": "Device", "status": "active", "extension": [e]})
}

/// `resource` as the one match of a searchset answering one entry of a batch.
fn deepest_answer(resource: Value) -> String {
    let searchset = json!({"resourceType": "Bundle", "type": "searchset",
        "entry": [{"resource": resource}]});
    json!({"resourceType": "Bundle", "type": "batch-response",
        "entry": [{"resource": searchset, "response": {"status": "200 OK"}}]})
    .to_string()
}

#[test]
fn a_resource_at_the_write_bound_is_read_back_inside_the_deepest_answer() {
    let deepest = device(MAX_DEPTH);
    assert_eq!(depth(&deepest), MAX_DEPTH);
    let text = deepest_answer(deepest);
    assert!(scan(text.as_bytes(), &LocalBases::default()).is_some());
    assert!(serde_json::from_str::<Value>(&text).is_ok());

    let deeper = device(MAX_DEPTH + 2);
    assert_eq!(depth(&deeper), MAX_DEPTH + 2);
    let text = deepest_answer(deeper);
    assert!(scan(text.as_bytes(), &LocalBases::default()).is_none());
    assert!(serde_json::from_str::<Value>(&text).is_err());
}
