//! Independent validation (DESIGN.md): every FHIR resource the HL7 v2 mappings produce —
//! from every fixture, with and without a time zone, and from the round trips of the
//! official Appointment/Encounter examples — parses as FHIR R4 4.0.1 with PyPI
//! `fhir.resources==6.4.0`, which checks types, cardinality and required elements. It does
//! not check bindings, so the required codes are asserted here.

mod hl7v2_support;

use std::process::Command;

use fhirgate_mappings::hl7v2::{self, Related, WriteOptions};
use hl7v2_support::{
    fhir_fixture, fhir_resources_python, fixture, fixture_names, map_bytes, target_dir,
};
use serde_json::{Value, json};

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

fn all_resources() -> Vec<Value> {
    let mut out = Vec::new();
    for name in fixture_names() {
        for zone in [None, Some("America/Chicago")] {
            let m = map_bytes(&fixture(&name), zone);
            out.extend(m.resources.into_iter().map(|r| r.resource));
        }
    }
    let patient = fhir_fixture("patient-example.json");
    let practitioner = fhir_fixture("practitioner-example.json");
    let related = Related {
        patient: Some(&patient),
        others: vec![&practitioner],
        ..Related::default()
    };
    let mut appointment = fhir_fixture("appointment-example.json");
    appointment["extension"] = json!([{"url": hl7v2::VIRTUAL_SERVICE, "extension": [
        {"url": "channelType", "valueCoding": {"system": "http://hl7.org/fhir/virtual-service-type", "code": "zoom"}},
        {"url": "address", "valueUrl": "https://zoom.example.org/j/1?pwd=x&y=z"}]}]);
    let siu =
        hl7v2::appointment_to_siu(&appointment, &related, &WriteOptions::default()).expect("siu");
    let mut encounter = fhir_fixture("encounter-example.json");
    encounter["class"] =
        json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"});
    let adt = hl7v2::encounter_to_adt(&encounter, &related, &WriteOptions::default()).expect("adt");
    for msg in [siu.message, adt.message] {
        out.extend(
            map_bytes(msg.as_bytes(), None)
                .resources
                .into_iter()
                .map(|r| r.resource),
        );
    }
    out
}

fn one_of(v: &Value, allowed: &[&str], what: &str) {
    let s = v.as_str().unwrap_or_else(|| panic!("{what} missing"));
    assert!(allowed.contains(&s), "{what} {s:?}");
}

#[test]
fn every_mapped_resource_is_valid_r4_per_fhir_resources() {
    let resources = all_resources();
    assert_eq!(
        resources.len(),
        88,
        "42 resources per fixture pass, 4 from the round trips"
    );
    for r in &resources {
        match r["resourceType"].as_str().unwrap_or_default() {
            "Patient" => {
                if let Some(g) = r.get("gender") {
                    one_of(g, &["male", "female", "other", "unknown"], "Patient.gender");
                }
                for n in r["name"].as_array().into_iter().flatten() {
                    if let Some(u) = n.get("use") {
                        one_of(
                            u,
                            &[
                                "usual",
                                "official",
                                "temp",
                                "nickname",
                                "anonymous",
                                "old",
                                "maiden",
                            ],
                            "HumanName.use",
                        );
                    }
                }
                for t in r["telecom"].as_array().into_iter().flatten() {
                    one_of(
                        &t["system"],
                        &["phone", "fax", "email", "pager", "url", "sms", "other"],
                        "ContactPoint.system",
                    );
                }
            }
            "Encounter" => {
                one_of(
                    &r["status"],
                    &[
                        "planned",
                        "arrived",
                        "triaged",
                        "in-progress",
                        "onleave",
                        "finished",
                        "cancelled",
                        "entered-in-error",
                        "unknown",
                    ],
                    "Encounter.status",
                );
                assert!(r["class"]["code"].is_string(), "Encounter.class {r}");
            }
            "Appointment" => {
                one_of(
                    &r["status"],
                    &[
                        "proposed",
                        "pending",
                        "booked",
                        "arrived",
                        "fulfilled",
                        "cancelled",
                        "noshow",
                        "entered-in-error",
                        "checked-in",
                        "waitlist",
                    ],
                    "Appointment.status",
                );
                for p in r["participant"].as_array().expect("participant") {
                    one_of(
                        &p["status"],
                        &["accepted", "declined", "tentative", "needs-action"],
                        "participant.status",
                    );
                }
            }
            "Observation" => {
                one_of(
                    &r["status"],
                    &[
                        "registered",
                        "preliminary",
                        "final",
                        "amended",
                        "corrected",
                        "cancelled",
                        "entered-in-error",
                        "unknown",
                    ],
                    "Observation.status",
                );
                if let Some(q) = r.get("valueQuantity")
                    && q.get("code").is_some()
                {
                    assert_eq!(q["system"], "http://unitsofmeasure.org");
                }
            }
            "MedicationRequest" => {
                one_of(
                    &r["status"],
                    &[
                        "active",
                        "on-hold",
                        "cancelled",
                        "completed",
                        "entered-in-error",
                        "stopped",
                        "draft",
                        "unknown",
                    ],
                    "MedicationRequest.status",
                );
                one_of(&r["intent"], &["order"], "MedicationRequest.intent");
            }
            other => panic!("unexpected resource type {other}"),
        }
    }
    let file = target_dir().join(format!("hl7v2-resources-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&resources).expect("json")).expect("write");
    let out = Command::new(fhir_resources_python())
        .arg("-c")
        .arg(CHECK)
        .arg(&file)
        .output()
        .expect("run python");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "fhir.resources refused:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
