//! `POST /fhir/CoverageEligibilityRequest/$submit` end to end (issue 8): the real `fhirgate`
//! binary with the shipped `gateway.yaml` (sandbox payer on) checks Buster's seeded Coverage
//! — active, $25.00 copay, $1500.00 deductible — for a patient token that may create
//! CoverageEligibilityRequests; that token cannot check another patient (403); a member of
//! another payer is an AAA 75 answer (200, outcome error); a patient without Coverage is 422.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, auth_section, authed, repo_root};

const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
const LIZ: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";

/// The shipped gateway.yaml on a free port.
fn shipped() -> String {
    std::fs::read_to_string(repo_root().join("gateway.yaml"))
        .expect("gateway.yaml")
        .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")
}

fn request(patient: &str) -> Value {
    json!({"resourceType": "CoverageEligibilityRequest", "status": "active", "purpose": ["benefits"],
        "patient": {"reference": format!("Patient/{patient}")}, "created": "2024-05-01",
        "provider": {"reference": "Practitioner/sandbox-prescriber"},
        "item": [{"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "98"}]}}]})
}

async fn submit(
    client: &reqwest::Client,
    gw: &Gateway,
    body: &Value,
) -> (StatusCode, String, Value) {
    let r = client
        .post(gw.fhir("/CoverageEligibilityRequest/$submit"))
        .header("Content-Type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    let status = r.status();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, r.json().await.expect("json body"))
}

fn item<'a>(r: &'a Value, category: &str, benefit: &str) -> &'a Value {
    r["insurance"][0]["item"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| {
            i["category"]["coding"][0]["code"] == category
                && i["benefit"][0]["type"]["coding"][1]["code"] == benefit
        })
        .unwrap_or_else(|| panic!("{benefit} for {category} in {r}"))
}

#[tokio::test]
async fn buster_is_covered_with_a_copay_and_a_deductible() {
    let gw = Gateway::start(&shipped());
    let token = gw.token_with(&[
        "--scope",
        "launch/patient patient/CoverageEligibilityRequest.c",
        "--patient",
        BUSTER,
    ]);
    let (status, content_type, r) = submit(&authed(&token), &gw, &request(BUSTER)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}"
    );
    assert_eq!(r["resourceType"], "CoverageEligibilityResponse");
    assert_eq!(r["patient"]["reference"], format!("Patient/{BUSTER}"));
    assert_eq!(r["outcome"], "complete");
    assert_eq!(r["disposition"], "Active coverage: fhirgate Sandbox PPO");
    assert_eq!(r["insurer"]["reference"], "Organization/sandbox-payer");
    assert_eq!(
        r["insurance"][0]["coverage"]["reference"],
        "Coverage/sandbox-coverage-buster"
    );
    assert_eq!(r["insurance"][0]["inforce"], true);
    let copay = item(&r, "98", "copay");
    assert_eq!(
        copay["benefit"][0]["allowedMoney"]["value"].to_string(),
        "25.00"
    );
    assert_eq!(copay["benefit"][0]["allowedMoney"]["currency"], "USD");
    assert_eq!(copay["network"]["coding"][1]["code"], "in");
    let deductible = item(&r, "30", "deductible");
    assert_eq!(
        deductible["benefit"][0]["allowedMoney"]["value"].to_string(),
        "1500.00"
    );
    assert_eq!(deductible["term"]["coding"][1]["code"], "annual");
    let logs = gw.logs().join("\n");
    assert!(logs.contains("eligibility answered"), "{logs}");
    assert!(
        !logs.contains("Hoeger") && !logs.contains("SBX0000001"),
        "no PHI in logs"
    );
}

#[tokio::test]
async fn a_patient_token_cannot_check_another_patient() {
    let gw = Gateway::start(&shipped());
    let buster = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/CoverageEligibilityRequest.c",
        "--patient",
        BUSTER,
    ]));
    let (status, _, oo) = submit(&buster, &gw, &request(LIZ)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{oo}");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let read_only = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/*.rs",
        "--patient",
        BUSTER,
    ]));
    let (status, _, oo) = submit(&read_only, &gw, &request(BUSTER)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no c on CoverageEligibilityRequest: {oo}"
    );
    let (status, _, oo) = submit(&support::client(), &gw, &request(BUSTER)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{oo}");
}

fn config() -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\n  payer:\n    kind: sandbox-payer\n    store: store\n    copay: \"30.00\"\nroutes:\n  - resources: [CoverageEligibilityRequest]\n    interactions: [operation]\n    adapters: [payer]\n  - resources: [\"*\"]\n    adapters: [store]\n"
    )
}

#[tokio::test]
async fn other_payers_members_are_aaa_answers_and_no_coverage_is_422() {
    let gw = Gateway::start(&config());
    let system = gw.system_client();
    let put = |path: &str, body: Value| {
        let system = system.clone();
        let url = gw.fhir(path);
        async move {
            let r = system
                .put(url)
                .header("Content-Type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .expect("put");
            assert!(r.status().is_success(), "{}", r.status());
        }
    };
    // The configured copay applies to the seeded Coverages.
    let (status, _, r) = submit(&system, &gw, &request(LIZ)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        item(&r, "98", "copay")["benefit"][0]["allowedMoney"]["value"].to_string(),
        "30.00"
    );
    put(
        "/Organization/other-insurer",
        json!({"resourceType": "Organization", "id": "other-insurer", "name": "Other Insurer",
        "identifier": [{"system": "https://example.org/payer-id", "value": "OTHER"}]}),
    )
    .await;
    put("/Patient/stranger", json!({"resourceType": "Patient", "id": "stranger", "name": [{"family": "Stranger", "given": ["Sam"]}], "birthDate": "1970-01-01"})).await;
    put("/Coverage/stranger-coverage", json!({"resourceType": "Coverage", "id": "stranger-coverage", "status": "active",
        "subscriberId": "OTH-1", "beneficiary": {"reference": "Patient/stranger"}, "payor": [{"reference": "Organization/other-insurer"}]})).await;
    let (status, _, r) = submit(&system, &gw, &request("stranger")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "error");
    assert_eq!(r["insurer"]["reference"], "Organization/other-insurer");
    assert_eq!(
        r["error"][0]["code"]["coding"][0]["system"],
        "https://codesystem.x12.org/005010/901"
    );
    assert_eq!(r["error"][0]["code"]["coding"][0]["code"], "75");
    assert_eq!(
        r["error"][0]["code"]["coding"][0]["display"],
        "Subscriber/Insured Not Found"
    );
    put(
        "/Patient/uninsured",
        json!({"resourceType": "Patient", "id": "uninsured", "name": [{"family": "Uninsured"}]}),
    )
    .await;
    let (status, content_type, oo) = submit(&system, &gw, &request("uninsured")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{oo}");
    assert!(content_type.starts_with("application/fhir+json"));
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("Patient/uninsured has no active Coverage"),
        "{oo}"
    );
    let (status, _, oo) = submit(
        &system,
        &gw,
        &json!({"resourceType": "CoverageEligibilityRequest"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no patient: {oo}");
}

#[tokio::test]
async fn another_patients_coverage_answers_as_a_missing_one() {
    let gw = Gateway::start(&shipped());
    let token = gw.token_with(&[
        "--scope",
        "launch/patient patient/CoverageEligibilityRequest.c",
        "--patient",
        BUSTER,
    ]);
    let with = |coverage: &str| {
        let mut body = request(BUSTER);
        body["insurance"] = json!([{"coverage": {"reference": coverage}}]);
        body
    };
    let (status, _, liz) =
        submit(&authed(&token), &gw, &with("Coverage/sandbox-coverage-liz")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{liz}");
    let (status, _, missing) = submit(
        &authed(&token),
        &gw,
        &with("Coverage/sandbox-coverage-liz-x"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{missing}");
    let text = |oo: &Value| {
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .replace("sandbox-coverage-liz-x", "sandbox-coverage-liz")
    };
    assert_eq!(text(&liz), text(&missing));
    assert_eq!(liz["issue"][0]["code"], missing["issue"][0]["code"]);
}
