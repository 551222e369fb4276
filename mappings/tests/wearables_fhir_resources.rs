//! Independent validation (DESIGN.md): every Observation the wearable mappings produce from
//! the fixtures parses as FHIR R4 4.0.1 with PyPI `fhir.resources==6.4.0`
//! (`get_fhir_model_class("Observation").parse_obj(dict)`), which checks types, cardinality
//! and required elements. It does not check bindings, so codes are asserted here too.
//!
//! The virtualenv lives in `target/venv-fhir-resources`, created once under a file lock
//! (`python3 -m venv` + `pip install 'fhir.resources==6.4.0' 'pydantic<2'`; needs PyPI).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use fhirgate_mappings::wearables::{Context, fitbit, googlefit, healthkit, omh};
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
        print(f"resource {i}: {e}")
print(f"checked {i + 1}, invalid {bad}")
sys.exit(1 if bad else 0)
"#;

fn all_observations() -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/wearables");
    let mut out = Vec::new();
    for (format, zone) in [
        ("openmhealth", None),
        ("apple-healthkit", None),
        ("fitbit", Some("Europe/Berlin")),
        ("fitbit", None),
        ("googlefit", None),
    ] {
        let ctx = Context::new("example", zone).expect("ctx");
        for entry in std::fs::read_dir(root.join(format)).expect("dir") {
            let path = entry.expect("entry").path();
            let name = path.to_string_lossy().into_owned();
            if name.contains("INVALID") || name.ends_with(".expected.json") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            let mapped = match format {
                "apple-healthkit" => healthkit::export_to_observations(&bytes, &ctx),
                "fitbit" => fitbit::payload_to_observations(
                    &serde_json::from_slice(&bytes).expect("json"),
                    &ctx,
                ),
                "googlefit" => googlefit::dataset_to_observations(
                    &serde_json::from_slice(&bytes).expect("json"),
                    &ctx,
                ),
                _ => omh::data_points_to_observations(
                    &serde_json::from_slice(&bytes).expect("json"),
                    &ctx,
                ),
            }
            .expect("mapped");
            out.extend(
                mapped
                    .observations
                    .into_iter()
                    .map(|r| r.expect("reading").to_value()),
            );
        }
    }
    out
}

#[test]
fn every_mapped_observation_is_valid_r4_per_fhir_resources() {
    let observations = all_observations();
    assert!(observations.len() >= 30, "{}", observations.len());
    for o in &observations {
        // Bindings the validator does not check.
        assert_eq!(o["status"], "final");
        assert_eq!(o["code"]["coding"][0]["system"], "http://loinc.org");
        let cat = o["category"][0]["coding"][0]["code"]
            .as_str()
            .expect("category");
        assert!(["vital-signs", "activity", "laboratory"].contains(&cat));
        assert_eq!(o["subject"]["reference"], "Patient/example");
        for q in std::iter::once(&o["valueQuantity"]).chain(
            o["component"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| &c["valueQuantity"]),
        ) {
            if q.is_object() {
                assert_eq!(q["system"], "http://unitsofmeasure.org", "{o}");
                assert!(q["code"].is_string(), "{o}");
            }
        }
    }
    let file = target_dir().join(format!(
        "wearables-observations-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec(&observations).expect("json")).expect("write");
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
