//! Shared helpers of the HL7 v2 tests: fixtures, mapping shortcuts, a JSON subset assertion
//! and the Python virtualenvs of the independent checkers.
//!
//! `fhir.resources` uses the same virtualenv as `wearables_fhir_resources.rs`
//! (`target/venv-fhir-resources`, same lock file and `.ready` marker), so it is created once;
//! `hl7apy` gets its own (`target/venv-hl7apy`).
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use fhirgate_mappings::hl7v2::{self, Context, Mapped};
use serde_json::Value;

/// `tests/fixtures/hl7v2`.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hl7v2")
}

/// A fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `.hl7` fixture names, sorted.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hl7"))
        .collect();
    names.sort();
    names
}

/// A FHIR R4 resource fixture (`tests/fixtures/fhir-r4/<name>`).
pub fn fhir_fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/fhir-r4")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json")
}

/// Parses and maps `bytes` with the default context in `zone`.
pub fn map_bytes(bytes: &[u8], zone: Option<&str>) -> Mapped {
    let msg = hl7v2::parse(bytes).expect("parse");
    let ctx = Context::new(zone).expect("zone");
    hl7v2::message_to_fhir(&msg, &ctx).expect("map")
}

/// The mapped resources of type `ty`, in order.
pub fn of_type(m: &Mapped, ty: &str) -> Vec<Value> {
    m.resources
        .iter()
        .filter(|r| r.resource["resourceType"] == ty)
        .map(|r| r.resource.clone())
        .collect()
}

/// Asserts `expected` (JSON text) is a subset of `actual`: every member of an expected
/// object is present and matches; arrays match element by element and in length; numbers
/// compare by their exact text.
pub fn assert_subset(actual: &Value, expected: &str) {
    let expected: Value = serde_json::from_str(expected).expect("expected JSON");
    if let Err(path) = subset(actual, &expected, "$") {
        panic!("mismatch at {path}\nexpected: {expected}\nactual: {actual}");
    }
}

fn subset(a: &Value, e: &Value, path: &str) -> Result<(), String> {
    match (a, e) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{path}.{k} (missing)"))?;
                subset(av, ev, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{path} (length {} ≠ {})", a.len(), e.len()));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                subset(av, ev, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(a), Value::Number(e)) if a.to_string() == e.to_string() => Ok(()),
        (a, e) if a == e => Ok(()),
        _ => Err(path.to_owned()),
    }
}

/// `CARGO_TARGET_DIR` or the workspace `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The python of `target/<name>`, creating the venv with `packages` on first use
/// (serialised by `target/<name>.lock`; needs PyPI).
pub fn venv_python(name: &str, packages: &[&str]) -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("target dir");
    let venv = target.join(name);
    let python = venv.join("bin/python");
    let lock = File::create(target.join(format!("{name}.lock"))).expect("lock file");
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
            .args(["-m", "pip", "install", "--quiet"])
            .args(packages)
            .status()
            .expect("pip")
            .success();
        assert!(ok, "pip install {packages:?} failed");
        std::fs::write(&ready, b"ok").expect("marker");
    }
    python
}

/// The `fhir.resources==6.4.0` venv shared with the wearables test.
pub fn fhir_resources_python() -> PathBuf {
    venv_python(
        "venv-fhir-resources",
        &["fhir.resources==6.4.0", "pydantic<2"],
    )
}
