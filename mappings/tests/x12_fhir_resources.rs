//! Independent validation (DESIGN.md): every FHIR resource the X12 mappings produce — from
//! the fixture 270, 271 and AAA 271, and from a 271 fhirgate wrote — parses as FHIR R4 4.0.1
//! with PyPI `fhir.resources==6.4.0` in `target/venv-fhir-resources` (shared with the
//! wearables check). Bindings are not checked by it, so codes are asserted here too.

mod x12_support;

use fhirgate_mappings::x12::eligibility::{
    self, AnswerResources, ResponseContext, coverage_eligibility_response_to_271,
    eligibility_271_to_coverage_eligibility_response, eligibility_to_fhir,
};
use fhirgate_mappings::x12::parse;
use serde_json::Value;
use x12_support::*;

const CHECK: &str = r#"
import json, sys
from fhir.resources import get_fhir_model_class
bad = 0
items = json.load(open(sys.argv[1]))
for i, d in enumerate(items):
    try:
        get_fhir_model_class(d["resourceType"]).parse_obj(d)
    except Exception as e:
        bad += 1
        print(f"resource {i} ({d['resourceType']}): {e}")
print(f"checked {len(items)}, invalid {bad}")
sys.exit(1 if bad else 0)
"#;

fn resources_of(x12: &[u8]) -> Vec<Value> {
    let doc = parse(x12).expect("parses");
    let mut out = Vec::new();
    for t in doc.transactions() {
        for e in eligibility::read(t).expect("reads") {
            out.extend(
                eligibility_to_fhir(&e)
                    .expect("maps")
                    .into_iter()
                    .map(|(url, r)| {
                        assert!(url.starts_with("urn:uuid:"), "{url}");
                        r
                    }),
            );
        }
    }
    out
}

/// What `$submit` answers for Buster (the payer's 271 mapped with the request's context),
/// with the Coverage and member record the mapping also yields.
fn submit_answer() -> Vec<Value> {
    let inquiry = buster_270();
    let (answer, cov, payer) = (
        payer_answer(),
        sandbox("Coverage", "sandbox-coverage-buster"),
        sandbox("Organization", "sandbox-payer"),
    );
    let mut record = buster();
    record["birthDate"] = serde_json::json!("1988-03-17");
    let a = coverage_eligibility_response_to_271(&AnswerResources {
        response: &answer,
        coverage: Some(&cov),
        member: Some(&record),
        insurer: Some(&payer),
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271");
    let doc = parse(text_of(&a, "HB").as_bytes()).expect("reads");
    let back = &eligibility::read(doc.transactions().next().expect("271")).expect("reads")[0];
    let ctx = ResponseContext {
        id: Some("0c8b1d2e-2f4a-4c55-9a3e-1b2c3d4e5f60".into()),
        patient: serde_json::json!({"reference": format!("Patient/{BUSTER}")}),
        coverage: serde_json::json!({"reference": "Coverage/sandbox-coverage-buster"}),
        insurer: Some(serde_json::json!({"reference": "Organization/sandbox-payer"})),
        requestor: Some(serde_json::json!({"reference": "Practitioner/sandbox-prescriber"})),
        request: Some(
            serde_json::json!({"identifier": {"system": "urn:example:req", "value": "r1"}}),
        ),
        created: Some("2024-04-30T09:00:01Z".into()),
        purpose: vec!["benefits".into()],
        serviced: Some((
            "servicedPeriod".into(),
            serde_json::json!({"start": "2024-05-01", "end": "2024-05-31"}),
        )),
        sent: Some(inquiry),
    };
    let m = eligibility_271_to_coverage_eligibility_response(back, &ctx).expect("maps");
    assert_eq!(m.corrections.len(), 1, "the birth date differs");
    let mut out = vec![m.response];
    out.extend(m.coverage);
    out.extend(m.member);
    out
}

#[test]
fn every_resource_from_x12_is_valid_r4_per_fhir_resources() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/x12");
    let mut all = Vec::new();
    for name in [
        "270_005010X279A1_subscriber_eligibility_inquiry.x12",
        "271_005010X279A1_subscriber_eligibility_response.x12",
        "271_005010X279A1_AAA_rejection.x12",
    ] {
        all.extend(resources_of(
            &std::fs::read(dir.join(name)).expect("fixture"),
        ));
    }
    all.extend(resources_of(text_of(&dependent_270(), "HS").as_bytes()));
    all.extend(submit_answer());
    let types: Vec<&str> = all
        .iter()
        .filter_map(|r| r["resourceType"].as_str())
        .collect();
    for t in [
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "Coverage",
        "Patient",
        "Organization",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    for r in &all {
        match r["resourceType"].as_str() {
            Some("CoverageEligibilityResponse") => {
                assert!(
                    ["complete", "error", "partial"].contains(&r["outcome"].as_str().unwrap_or(""))
                );
                assert_eq!(r["status"], "active");
            }
            Some("CoverageEligibilityRequest") => {
                assert_eq!(r["purpose"], serde_json::json!(["validation", "benefits"]));
                assert_eq!(
                    r["item"][0]["category"]["coding"][0]["system"],
                    "https://codesystem.x12.org/005010/1365"
                );
            }
            Some("Coverage") => {
                assert!(["active", "cancelled"].contains(&r["status"].as_str().unwrap_or("")))
            }
            _ => {}
        }
    }
    let file = target_dir().join(format!("x12-fhir-resources-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&all).expect("json")).expect("write");
    let python = venv_python(
        "venv-fhir-resources",
        &["fhir.resources==6.4.0", "pydantic<2"],
    );
    let out = run_python(&python, CHECK, &[&file]);
    let _ = std::fs::remove_file(&file);
    assert!(
        out.contains(&format!("checked {}, invalid 0", all.len())),
        "{out}"
    );
}
