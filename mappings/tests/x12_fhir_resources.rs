//! Independent validation (DESIGN.md): every FHIR resource the X12 mappings produce — from
//! the fixture 270, 271 and AAA 271, and from a 271 fhirgate wrote — parses as FHIR R4 4.0.1
//! with PyPI `fhir.resources==6.4.0` in `target/venv-fhir-resources` (shared with the
//! wearables check). Bindings are not checked by it, so codes are asserted here too.

mod x12_support;

use fhirgate_mappings::x12::eligibility::{self, eligibility_to_fhir};
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
