//! Every FHIR-side error a client can cause answers an OperationOutcome with the right
//! status; every response carries X-Request-Id; the operational endpoints answer.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{Gateway, store_config};

async fn outcome(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let ct = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/fhir+json"), "{ct}");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
    body
}

fn gateway() -> Gateway {
    Gateway::start(&store_config("  body_limit: 2KiB\n"))
}

#[tokio::test]
async fn xml_accept_and_format_answer_406() {
    let gw = gateway();
    let c = gw.system_client();
    let r = c
        .get(gw.fhir("/Patient"))
        .header("accept", "application/fhir+xml")
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::NOT_ACCEPTABLE, "not-supported").await;
    let r = c
        .get(gw.fhir("/Patient?_format=xml"))
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::NOT_ACCEPTABLE, "not-supported").await;
    let r = c
        .get(gw.fhir("/metadata?_format=json"))
        .header("accept", "application/xml")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK, "_format wins over Accept");
}

#[tokio::test]
async fn xml_body_answers_415_and_json_patch_is_accepted_for_patch_only() {
    let gw = gateway();
    let c = gw.system_client();
    let r = c
        .post(gw.fhir("/Patient"))
        .header("content-type", "application/fhir+xml")
        .body("<Patient/>")
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported").await;
    let r = c
        .put(gw.fhir("/Patient/x"))
        .header("content-type", "application/json-patch+json")
        .body("[]")
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported").await;
}

#[tokio::test]
async fn body_over_the_limit_answers_413() {
    let gw = gateway();
    let big = format!(
        "{{\"resourceType\":\"Patient\",\"text\":\"{}\"}}",
        "x".repeat(4096)
    );
    let r = gw
        .system_client()
        .post(gw.fhir("/Patient"))
        .header("content-type", "application/fhir+json")
        .body(big)
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::PAYLOAD_TOO_LARGE, "too-long").await;
}

#[tokio::test]
async fn malformed_json_answers_400_with_line_and_column() {
    let gw = gateway();
    let body = "{\n  \"resourceType\": \"Patient\",\n  \"active\": yes\n}";
    let r = gw
        .system_client()
        .post(gw.fhir("/Patient"))
        .header("content-type", "application/fhir+json")
        .body(body)
        .send()
        .await
        .expect("send");
    let oo = outcome(r, StatusCode::BAD_REQUEST, "structure").await;
    let diagnostics = oo["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(diagnostics.contains("line 3, column"), "{diagnostics}");
}

/// A property named twice in one object (RFC 8259 §4) could be read one way by fhirgate's
/// checks (the last wins) and another by an upstream (the first wins): refused, unstored.
#[tokio::test]
async fn a_property_named_twice_answers_400_and_nothing_is_stored() {
    let gw = gateway();
    let c = gw.system_client();
    let twice = r#"{"resourceType":"Observation","status":"final","identifier":[{"system":"urn:t","value":"dup-1"}],"code":{"text":"x"},"subject":{"reference":"Patient/b"},"subject":{"reference":"Patient/a"}}"#;
    let r = c
        .post(gw.fhir("/Observation"))
        .header("content-type", "application/fhir+json")
        .body(twice)
        .send()
        .await
        .expect("send");
    let oo = outcome(r, StatusCode::BAD_REQUEST, "invalid").await;
    let diagnostics = oo["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(
        diagnostics.contains(r#"property "subject" appears twice in one object"#),
        "{diagnostics}"
    );
    // Inside a batch entry the whole Bundle is refused before any entry runs.
    let batch = format!(
        r#"{{"resourceType":"Bundle","type":"batch","entry":[{{"resource":{twice},"request":{{"method":"POST","url":"Observation"}}}}]}}"#
    );
    let r = c
        .post(gw.fhir(""))
        .header("content-type", "application/fhir+json")
        .body(batch)
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::BAD_REQUEST, "invalid").await;
    let found: Value = c
        .get(gw.fhir("/Observation?identifier=urn:t|dup-1"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(found["entry"].as_array().map_or(0, Vec::len), 0, "{found}");
}

#[tokio::test]
async fn wrong_resource_type_in_body_answers_400() {
    let gw = gateway();
    let r = gw
        .system_client()
        .post(gw.fhir("/Patient"))
        .header("content-type", "application/fhir+json")
        .body(r#"{"resourceType":"Observation"}"#)
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::BAD_REQUEST, "invalid").await;
}

#[tokio::test]
async fn unknown_type_404_wrong_method_405_unknown_path_404() {
    let gw = gateway();
    let c = gw.system_client();
    outcome(
        c.get(gw.fhir("/Patients/1")).send().await.expect("send"),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    outcome(
        c.post(gw.fhir("/Patient/1")).send().await.expect("send"),
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
    )
    .await;
    outcome(
        c.get(format!("{}/nothing", gw.url))
            .send()
            .await
            .expect("send"),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn request_id_is_echoed_when_well_formed_and_generated_otherwise() {
    let gw = gateway();
    let c = gw.system_client();
    let r = c
        .get(format!("{}/healthz", gw.url))
        .header("x-request-id", "abc-123.X")
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["x-request-id"], "abc-123.X");
    let r = c
        .get(gw.fhir("/Patients"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .expect("send");
    let id = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID replaces a malformed id: {id}");
}

#[tokio::test]
async fn metadata_lists_routes_with_public_base() {
    let gw = gateway();
    let r = gw
        .system_client()
        .get(gw.fhir("/metadata"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let cs: Value = r.json().await.expect("json");
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["format"], serde_json::json!(["json"]));
    assert_eq!(cs["software"]["name"], "fhirgate");
    assert_eq!(cs["implementation"]["url"], gw.fhir(""));
    let resources = cs["rest"][0]["resource"].as_array().expect("resources");
    let observation = resources
        .iter()
        .find(|r| r["type"] == "Observation")
        .expect("Observation listed");
    let codes: Vec<&str> = observation["interaction"]
        .as_array()
        .expect("interactions")
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"read") && codes.contains(&"search-type") && codes.contains(&"create"),
        "{codes:?}"
    );
    let system: Vec<&str> = cs["rest"][0]["interaction"]
        .as_array()
        .expect("system")
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert!(
        system.contains(&"transaction") && system.contains(&"batch"),
        "{system:?}"
    );
    // Operations served are listed where they are invoked: `$ingest` (the gateway's own) on
    // Patient; `$everything` is not, since the embedded store does not serve it.
    let patient = resources
        .iter()
        .find(|r| r["type"] == "Patient")
        .expect("Patient listed");
    let operations: Vec<&str> = patient["operation"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(operations, ["ingest"]);
    assert_eq!(
        patient["operation"][0]["definition"],
        "http://fhirgate.dev/OperationDefinition/ingest"
    );
}

#[tokio::test]
async fn healthz_readyz_and_metrics_answer() {
    let gw = gateway();
    let c = gw.system_client();
    let r = c
        .get(format!("{}/healthz", gw.url))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(format!("{}/readyz", gw.url))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let _ = c.get(gw.fhir("/metadata")).send().await.expect("send");
    let text = gw.metrics().await;
    assert!(text.contains("fhirgate_requests_total{interaction=\"capabilities\",resource_type=\"none\",status=\"200\"}"), "{text}");
    assert!(
        text.contains("fhirgate_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn too_many_search_parameters_answer_400_not_a_database_error() {
    let gw = gateway();
    let c = gw.system_client();
    let many: Vec<String> = (0..999).map(|i| format!("name=x{i}")).collect();
    let r = c
        .get(gw.fhir(&format!("/Patient?{}", many.join("&"))))
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::BAD_REQUEST, "invalid").await;
    let values: Vec<String> = (0..2000).map(|i| format!("x{i}")).collect();
    let r = c
        .get(gw.fhir(&format!("/Patient?name={}", values.join(","))))
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::BAD_REQUEST, "invalid").await;
    let some: Vec<String> = (0..50).map(|i| format!("name=x{i}")).collect();
    let r = c
        .get(gw.fhir(&format!("/Patient?{}", some.join("&"))))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn method_not_allowed_names_the_allowed_methods() {
    let gw = gateway();
    let c = gw.system_client();
    let r = c.post(gw.fhir("/Patient/1")).send().await.expect("send");
    assert_eq!(r.headers()["allow"], "GET, PUT, PATCH, DELETE");
    outcome(r, StatusCode::METHOD_NOT_ALLOWED, "not-supported").await;
    let r = c.delete(gw.fhir("/metadata")).send().await.expect("send");
    assert_eq!(r.headers()["allow"], "GET");
}

#[tokio::test]
async fn an_overlong_request_target_answers_414_with_an_operation_outcome() {
    let gw = gateway();
    let long = "a".repeat(fhirgate::observe::MAX_URI_BYTES);
    let r = gw
        .system_client()
        .get(gw.fhir(&format!("/Patient?name={long}")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(
        r.headers()["content-type"],
        "application/fhir+json; charset=utf-8"
    );
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["issue"][0]["code"], "too-long", "{oo}");
    // Just under the limit is served as usual.
    let fits = "a".repeat(fhirgate::observe::MAX_URI_BYTES - 200);
    let r = gw
        .system_client()
        .get(gw.fhir(&format!("/Patient?name={fits}")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_version_that_is_not_a_number_is_404_naming_the_version_not_the_resource() {
    let gw = gateway();
    gw.put_patient("vread-p").await;
    let c = gw.system_client();
    let r = c
        .get(gw.fhir("/Patient/vread-p/_history/abc"))
        .send()
        .await
        .expect("send");
    let body = outcome(r, StatusCode::NOT_FOUND, "not-found").await;
    let text = body["issue"][0]["diagnostics"].as_str().unwrap_or("");
    assert!(text.contains("has no version 'abc'"), "{text}");
}

#[tokio::test]
async fn a_json_patch_sent_as_fhir_json_is_415_from_the_store() {
    let gw = gateway();
    gw.put_patient("patch-ct").await;
    let c = gw.system_client();
    let ops = r#"[{"op":"add","path":"/gender","value":"female"}]"#;
    let r = c
        .patch(gw.fhir("/Patient/patch-ct"))
        .header("content-type", "application/fhir+json")
        .body(ops)
        .send()
        .await
        .expect("send");
    outcome(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported").await;
    let r = c
        .patch(gw.fhir("/Patient/patch-ct"))
        .header("content-type", "application/json-patch+json")
        .body(ops)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}
