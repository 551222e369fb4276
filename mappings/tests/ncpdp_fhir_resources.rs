//! Independent validation (DESIGN.md): every FHIR resource the SCRIPT mappings produce —
//! from every 2017071 fixture (with and without an inbound context) and from the sandbox
//! NewRx mapped back — parses as FHIR R4 4.0.1 with PyPI `fhir.resources==6.4.0`
//! (`get_fhir_model_class(type).parse_obj(dict)`: types, cardinality, required elements).
//! It does not check bindings, so the codes are asserted here too.
//!
//! The virtualenv is the shared `target/venv-fhir-resources` (created once under a file lock
//! by whichever test gets there first: `python3 -m venv` + `pip install
//! 'fhir.resources==6.4.0' 'pydantic<2'`; needs PyPI).

mod ncpdp_support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use fhirgate_mappings::ncpdp::{
    InboundContext, Prescription, medication_request_to_new_rx, message_to_fhir, parse_message,
};
use ncpdp_support::{header, sandbox_bundle, script_fixtures};
use serde_json::Value;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The venv's python, creating the venv on first use (serialised by a lock file).
fn venv_python() -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("target dir");
    let venv = target.join("venv-fhir-resources");
    let python = venv.join("bin/python");
    let lock = File::create(target.join("venv-fhir-resources.lock")).expect("lock file");
    lock.lock().expect("lock");
    let ready = venv.join(".ready");
    if !ready.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv")
            .success();
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "fhir.resources==6.4.0",
                "pydantic<2",
            ])
            .status()
            .expect("pip")
            .success();
        assert!(ok, "pip install fhir.resources failed");
        std::fs::write(&ready, b"ok").expect("marker");
    }
    python
}

const CHECK: &str = r#"
import json, sys
from fhir.resources import get_fhir_model_class
bad = 0
for i, d in enumerate(json.load(open(sys.argv[1]))):
    try:
        get_fhir_model_class(d["resourceType"]).parse_obj(d)
    except Exception as e:
        bad += 1
        print(f"resource {i} ({d.get('resourceType')}): {e}")
print(f"checked {i + 1}, invalid {bad}")
sys.exit(1 if bad else 0)
"#;

fn all_resources() -> Vec<Value> {
    let mut out = Vec::new();
    let ctx = InboundContext {
        medication_request: Some("MedicationRequest/rx-1".to_owned()),
        patient: Some("Patient/p-1".to_owned()),
        prescriber: Some("Practitioner/dr-1".to_owned()),
    };
    for (name, bytes) in script_fixtures() {
        let Ok(m) = parse_message(&bytes) else {
            assert!(name.contains("2023011"), "{name}");
            continue;
        };
        for c in [InboundContext::default(), ctx.clone()] {
            out.extend(message_to_fhir(&m, &c).unwrap_or_else(|e| panic!("{name}: {e}")));
        }
    }
    let p = Prescription::from_bundle(&sandbox_bundle()).expect("prescription");
    let xml = medication_request_to_new_rx(&p, &header()).expect("NewRx");
    out.extend(
        message_to_fhir(
            &parse_message(xml.as_bytes()).expect("parse"),
            &InboundContext::default(),
        )
        .expect("fhir"),
    );
    out
}

#[test]
fn every_mapped_resource_is_valid_r4_per_fhir_resources() {
    let resources = all_resources();
    assert!(resources.len() >= 60, "{}", resources.len());
    for r in &resources {
        // Bindings the validator does not check.
        match r["resourceType"].as_str() {
            Some("MedicationRequest") => {
                assert!(
                    ["active", "cancelled", "draft"]
                        .contains(&r["status"].as_str().expect("status")),
                    "{r}"
                );
                assert!(
                    ["order", "proposal"].contains(&r["intent"].as_str().expect("intent")),
                    "{r}"
                );
                let q = &r["dispenseRequest"]["quantity"];
                if q["code"].is_string() {
                    assert_eq!(q["system"], "http://ncimeta.nci.nih.gov", "{r}");
                }
                let d = &r["dispenseRequest"]["expectedSupplyDuration"];
                if d.is_object() {
                    assert_eq!(
                        (d["system"].as_str(), d["code"].as_str()),
                        (Some("http://unitsofmeasure.org"), Some("d"))
                    );
                }
            }
            Some("MedicationDispense") => {
                assert!(
                    ["completed", "declined"].contains(&r["status"].as_str().expect("status")),
                    "{r}"
                );
            }
            Some("Task") => {
                assert!(
                    [
                        "requested",
                        "received",
                        "accepted",
                        "completed",
                        "rejected",
                        "failed",
                        "cancelled",
                        "in-progress"
                    ]
                    .contains(&r["status"].as_str().expect("status")),
                    "{r}"
                );
                assert_eq!(
                    r["code"]["coding"][0]["system"],
                    "http://hl7.org/fhir/CodeSystem/task-code"
                );
                assert_eq!(r["intent"], "order");
            }
            Some("Patient") => {
                if let Some(g) = r["gender"].as_str() {
                    assert!(["male", "female", "unknown"].contains(&g), "{r}");
                }
            }
            Some("Practitioner" | "Organization" | "Medication" | "Coverage") => {}
            other => panic!("unexpected resource type {other:?}"),
        }
    }
    let file = target_dir().join(format!("ncpdp-resources-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&resources).expect("json")).expect("write");
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(CHECK)
        .arg(&file)
        .output()
        .expect("run python");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fhir.resources refused:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
