//! The store's own checks of `_include`/`_revinclude` (FHIR R4 search.html §3.1.1.5.4
//! "Including other resources"): a target that is not a resource type, extra parts or a
//! modifier other than `:iterate` (STU3: `:recurse`) answer 400 `invalid` instead of
//! including nothing unnoticed; and `Observation:focus`, an R4 reference parameter, is
//! indexed (search and include).

mod store_harness;

use http::StatusCode;
use serde_json::json;
use store_harness::{Store, ids};

both!(malformed_includes_answer_400, observation_focus_is_indexed);

async fn malformed_includes_answer_400(s: &Store) {
    for (query, diagnostics) in [
        (
            "Observation?_include=Observation:*:NotAType",
            "_include/_revinclude 'Observation:*:NotAType' names target 'NotAType', which is not a resource type",
        ),
        (
            "Observation?_include=Observation:subject:NotAType",
            "_include/_revinclude 'Observation:subject:NotAType' names target 'NotAType', which is not a resource type",
        ),
        (
            "Observation?_include=Observation:subject:Patient:x",
            "_include/_revinclude 'Observation:subject:Patient:x' is not Type:param[:Target], Type:*[:Target] or *",
        ),
        (
            "Observation?_include:bogus=*",
            "modifier ':bogus' is not supported on '_include' (only :iterate)",
        ),
        (
            "Patient?_revinclude:bogus=Observation:subject",
            "modifier ':bogus' is not supported on '_revinclude' (only :iterate)",
        ),
    ] {
        let r = s.get(query).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.json);
        assert_eq!(r.json["resourceType"], "OperationOutcome");
        assert_eq!(r.json["issue"][0]["code"], "invalid", "{query}");
        assert_eq!(r.json["issue"][0]["diagnostics"], diagnostics, "{query}");
    }
    for ok in [
        "Observation?_include=Observation:subject:Group",
        "Observation?_include:iterate=Observation:subject",
        "Observation?_include:recurse=Observation:*:Patient",
    ] {
        assert_eq!(s.get(ok).await.status, StatusCode::OK, "{ok}");
    }
}

async fn observation_focus_is_indexed(s: &Store) {
    let patient = s.create(&json!({"resourceType": "Patient"})).await;
    let condition = s
        .create(&json!({"resourceType": "Condition", "code": {"text": "c"},
            "subject": {"reference": format!("Patient/{patient}")}}))
        .await;
    let focused = s
        .create(&json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "x"}, "focus": [{"reference": format!("Condition/{condition}")}]}))
        .await;
    s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "y"}}))
        .await;
    let r = s
        .get(&format!("Observation?focus=Condition/{condition}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(ids(&r.json, "match"), vec![focused.clone()]);
    let r = s
        .get(&format!(
            "Observation?_id={focused}&_include=Observation:focus"
        ))
        .await;
    assert_eq!(ids(&r.json, "include"), vec![condition.clone()]);
    let r = s
        .get(&format!(
            "Condition?_id={condition}&_revinclude=Observation:focus"
        ))
        .await;
    assert_eq!(ids(&r.json, "include"), vec![focused]);
}
