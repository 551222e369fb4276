//! `kind: sandbox-payer` over the seeded store (issue 8): `$submit` for Buster answers active
//! coverage, the copay and the deductible; a Coverage's own `costToBeneficiary` wins over the
//! configured amounts; dependents are found by name and birth date; inactive coverage is
//! `inforce: false`; members of other payers get AAA 75; a patient without Coverage is 422.

use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::{
    AdapterConfig, BuildContext, FhirRequest, FhirResponse, ResponseBody, SharedAdapter,
};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
const LIZ: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";
const BASE: &str = "https://gw.example.org/fhir";

struct Setup {
    store: SharedAdapter,
    payer: SharedAdapter,
}

async fn setup() -> Setup {
    let dir = std::env::temp_dir().join(format!(
        "fhirgate_payer_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut ctx = BuildContext::new(dir);
    let store: AdapterConfig =
        serde_json::from_value(json!({"kind": "store", "url": "sqlite://store.db"}))
            .expect("store");
    let store = store.build("store", &ctx).await.expect("store builds");
    ctx.adapters.insert("store".into(), store.clone());
    let payer: AdapterConfig =
        serde_json::from_value(json!({"kind": "sandbox-payer", "store": "store"})).expect("payer");
    assert!(payer.validate().is_empty(), "{:?}", payer.validate());
    assert_eq!(
        payer.references(),
        vec![("store".to_owned(), "store".to_owned())]
    );
    let payer = payer.build("payer", &ctx).await.expect("payer builds");
    Setup { store, payer }
}

async fn json_of(r: FhirResponse) -> Value {
    match r.body {
        ResponseBody::Full(b) => serde_json::from_slice(&b).expect("json"),
        ResponseBody::Stream(_) => panic!("streamed"),
    }
}

impl Setup {
    async fn put(&self, resource: Value) {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().expect("type"),
            resource["id"].as_str().expect("id")
        );
        let mut r = FhirRequest::new(
            Method::PUT,
            parse_target(&Method::PUT, &path).expect("target"),
            BASE,
        );
        r.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json"),
        );
        r.body = resource.to_string().into();
        let answer = self.store.handle(r).await.expect("stored");
        assert!(answer.status.is_success(), "{path}: {}", answer.status);
    }

    async fn submit(&self, body: Value) -> (StatusCode, Value) {
        let mut r = FhirRequest::new(
            Method::POST,
            parse_target(&Method::POST, "CoverageEligibilityRequest/$submit").expect("target"),
            BASE,
        );
        r.body = body.to_string().into();
        let answer = self.payer.handle(r).await.expect("answered");
        (answer.status, json_of(answer).await)
    }
}

fn request(patient: &str) -> Value {
    json!({"resourceType": "CoverageEligibilityRequest", "status": "active", "purpose": ["validation", "benefits"],
        "patient": {"reference": format!("Patient/{patient}")}, "created": "2024-05-01", "servicedDate": "2024-05-01",
        "provider": {"reference": "Practitioner/sandbox-prescriber"}})
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
async fn a_seeded_patient_has_active_coverage_a_copay_and_a_deductible() {
    let s = setup().await;
    let (status, r) = s.submit(request(BUSTER)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["resourceType"], "CoverageEligibilityResponse");
    assert_eq!(r["outcome"], "complete");
    assert_eq!(r["disposition"], "Active coverage: fhirgate Sandbox PPO");
    assert_eq!(r["purpose"], json!(["validation", "benefits"]));
    assert_eq!(r["servicedDate"], "2024-05-01");
    assert_eq!(
        r["requestor"]["reference"],
        "Practitioner/sandbox-prescriber"
    );
    assert_eq!(r["insurer"]["reference"], "Organization/sandbox-payer");
    let ins = &r["insurance"][0];
    assert_eq!(
        ins["coverage"]["reference"],
        "Coverage/sandbox-coverage-buster"
    );
    assert_eq!(ins["inforce"], true);
    assert_eq!(ins["benefitPeriod"]["start"], "2019-01-01");
    let copay = item(&r, "98", "copay");
    assert_eq!(
        copay["benefit"][0]["allowedMoney"]["value"].to_string(),
        "25.00"
    );
    assert_eq!(copay["benefit"][0]["allowedMoney"]["currency"], "USD");
    assert_eq!(copay["network"]["coding"][1]["code"], "in");
    assert_eq!(copay["term"]["coding"][0]["display"], "Visit");
    let deductible = item(&r, "30", "deductible");
    assert_eq!(
        deductible["benefit"][0]["allowedMoney"]["value"].to_string(),
        "1500.00"
    );
    assert_eq!(deductible["unit"]["coding"][1]["code"], "individual");
    assert_eq!(deductible["term"]["coding"][1]["code"], "annual");
    let active = &ins["item"][0];
    assert_eq!(
        active["benefit"][0]["type"]["coding"][0]["display"],
        "Active Coverage"
    );
    assert_eq!(active["name"], "fhirgate Sandbox PPO");
    assert!(r.get("error").is_none());
}

#[tokio::test]
async fn coverage_amounts_dependents_inactive_and_unknown_members() {
    let s = setup().await;
    // Liz's own Coverage names a $40.00 copay: it wins over the configured $25.00.
    let mut liz = json!({"resourceType": "Coverage", "id": "sandbox-coverage-liz", "status": "active",
        "subscriber": {"reference": format!("Patient/{LIZ}")}, "subscriberId": "SBX0000002",
        "beneficiary": {"reference": format!("Patient/{LIZ}")}, "payor": [{"reference": "Organization/sandbox-payer"}]});
    liz["costToBeneficiary"] = serde_json::from_str(r#"[{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type", "code": "gpvisit"}]}, "valueMoney": {"value": 40.00, "currency": "USD"}}]"#).expect("json");
    s.put(liz).await;
    let (status, r) = s.submit(request(LIZ)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        item(&r, "98", "copay")["benefit"][0]["allowedMoney"]["value"].to_string(),
        "40.00"
    );
    assert_eq!(
        item(&r, "30", "deductible")["benefit"][0]["allowedMoney"]["value"].to_string(),
        "1500.00"
    );

    // Buster as Liz's dependent: the 270 has a 2000D loop and the payer finds him there.
    s.put(json!({"resourceType": "Coverage", "id": "family-buster", "status": "active",
        "subscriber": {"reference": format!("Patient/{LIZ}")}, "subscriberId": "SBX0000002",
        "beneficiary": {"reference": format!("Patient/{BUSTER}")}, "payor": [{"reference": "Organization/sandbox-payer"}],
        "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "spouse"}]}})).await;
    let mut dependent = request(BUSTER);
    dependent["insurance"] =
        json!([{"focal": true, "coverage": {"reference": "Coverage/family-buster"}}]);
    let (status, r) = s.submit(dependent).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "complete");
    assert_eq!(
        r["insurance"][0]["coverage"]["reference"],
        "Coverage/family-buster"
    );
    assert_eq!(r["insurance"][0]["inforce"], true);

    // A cancelled Coverage: answered, not in force.
    s.put(json!({"resourceType": "Coverage", "id": "old-buster", "status": "cancelled", "subscriberId": "SBX0000009",
        "beneficiary": {"reference": format!("Patient/{BUSTER}")}, "payor": [{"reference": "Organization/sandbox-payer"}]})).await;
    let mut old = request(BUSTER);
    old["insurance"] = json!([{"coverage": {"reference": "Coverage/old-buster"}}]);
    let (status, r) = s.submit(old).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["insurance"][0]["inforce"], false);
    assert_eq!(r["disposition"], "Inactive coverage: fhirgate Sandbox PPO");

    // A member of another payer: the sandbox does not know them (AAA 75), still a 200.
    s.put(
        json!({"resourceType": "Organization", "id": "other-insurer", "name": "Other Insurer",
        "identifier": [{"system": "https://example.org/payer-id", "value": "OTHER"}]}),
    )
    .await;
    s.put(json!({"resourceType": "Patient", "id": "stranger", "name": [{"family": "Stranger", "given": ["Sam"]}], "gender": "male", "birthDate": "1970-01-01"})).await;
    s.put(json!({"resourceType": "Coverage", "id": "stranger-coverage", "status": "active", "subscriberId": "OTH-1",
        "beneficiary": {"reference": "Patient/stranger"}, "payor": [{"reference": "Organization/other-insurer"}]})).await;
    let (status, r) = s.submit(request("stranger")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "error");
    assert_eq!(r["error"][0]["code"]["coding"][0]["code"], "75");
    assert_eq!(r["error"][0]["code"]["coding"][1]["code"], "C");
    assert_eq!(
        r["error"][0]["code"]["text"],
        "Subscriber/Insured Not Found (75) (loop 2100C); follow-up: Please Correct and Resubmit (C)"
    );
    assert!(r.get("insurance").is_none());

    // No Coverage at all: nothing to ask a payer about.
    s.put(json!({"resourceType": "Patient", "id": "uninsured", "name": [{"family": "Uninsured", "given": ["Una"]}]})).await;
    let (status, oo) = s.submit(request("uninsured")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(oo["issue"][0]["code"], "business-rule");
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("has no active Coverage"),
        "{oo}"
    );
}
