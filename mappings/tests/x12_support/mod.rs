//! Shared inputs of the X12 mapping tests: the seeded Synthea patients and the sandbox
//! bundle's payer, prescriber and Coverages, and Python virtualenvs for the independent
//! checkers (each in its own venv under `target/`, created once under a file lock).
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use fhirgate_mappings::x12::eligibility::{
    self, InquiryControl, InquiryResources, coverage_eligibility_request_to_270,
};
use fhirgate_mappings::x12::{InterchangeSpec, write_interchange};
use serde_json::{Value, json};

pub const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
pub const LIZ: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json_file(rel: &str) -> Value {
    let bytes = std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_slice(&bytes).expect("json")
}

/// The resource of `type` with `id` in a seed bundle (Synthea entries carry ids in fullUrl).
fn from_bundle(rel: &str, rt: &str, id: &str) -> Value {
    let b = json_file(rel);
    let e = b["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| {
            e["resource"]["resourceType"] == rt
                && (e["resource"]["id"] == id || e["fullUrl"] == format!("urn:uuid:{id}"))
        })
        .unwrap_or_else(|| panic!("{rt}/{id} in {rel}"));
    let mut r = e["resource"].clone();
    r["id"] = json!(id);
    r
}

pub fn buster() -> Value {
    from_bundle(
        "tests/fixtures/synthea/synthea-r4-transaction-Buster_Hoeger.json",
        "Patient",
        BUSTER,
    )
}

pub fn liz() -> Value {
    from_bundle(
        "tests/fixtures/synthea/synthea-r4-transaction-Liz_Conn.json",
        "Patient",
        LIZ,
    )
}

pub fn sandbox(rt: &str, id: &str) -> Value {
    from_bundle("adapters/seed/sandbox.json", rt, id)
}

pub fn fhir_r4(name: &str) -> Value {
    json_file(&format!("tests/fixtures/fhir-r4/{name}.json"))
}

/// A CoverageEligibilityRequest for `patient` asking about service type `stc` on 2024-05-01.
pub fn request(patient: &str, stc: &str) -> Value {
    json!({
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"reference": format!("Patient/{patient}")},
        "servicedDate": "2024-05-01",
        "created": "2024-04-30T09:00:00Z",
        "provider": {"reference": "Practitioner/sandbox-prescriber"},
        "insurer": {"reference": "Organization/sandbox-payer"},
        "insurance": [{"focal": true, "coverage": {"reference": "Coverage/sandbox-coverage-buster"}}],
        "item": [{"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": stc}]}}]
    })
}

pub fn control() -> InquiryControl {
    InquiryControl {
        reference: "REF0001".into(),
        trace_number: "TRACE-0001".into(),
        originator: "9FHIRGATE0".into(),
        created: jiff::civil::date(2024, 4, 30).at(9, 0, 0, 0),
    }
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The python of virtualenv `target/<name>` with `packages` installed (created once).
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

/// Runs `script` with `args` in the venv; panics with its output unless it exits 0.
pub fn run_python(python: &Path, script: &str, args: &[&Path]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn spec(functional_id: &str) -> InterchangeSpec {
    InterchangeSpec {
        sender_qualifier: "ZZ".into(),
        sender_id: "FHIRGATE".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "SANDBOXPAYER".into(),
        created: jiff::civil::date(2024, 4, 30).at(9, 0, 0, 0),
        control_number: 7,
        usage: 'T',
        acknowledgment_requested: false,
        functional_id: functional_id.into(),
        application_sender: "FHIRGATE".into(),
        application_receiver: "SANDBOXPAYER".into(),
        version: "005010X279A1".into(),
        line_breaks: true,
    }
}

pub fn buster_270() -> eligibility::Eligibility {
    let (req, patient, cov, payer, doc) = (
        request(BUSTER, "98"),
        buster(),
        sandbox("Coverage", "sandbox-coverage-buster"),
        sandbox("Organization", "sandbox-payer"),
        sandbox("Practitioner", "sandbox-prescriber"),
    );
    let r = InquiryResources {
        request: &req,
        patient: &patient,
        coverage: &cov,
        subscriber: None,
        insurer: &payer,
        provider: &doc,
    };
    coverage_eligibility_request_to_270(&r, &control()).expect("270")
}

pub fn text_of(e: &eligibility::Eligibility, functional_id: &str) -> String {
    let set = eligibility::write(e, "0001").expect("segments");
    String::from_utf8(write_interchange(&spec(functional_id), &[set]).expect("interchange"))
        .expect("ascii")
}

/// A payer's CoverageEligibilityResponse: active, $25.00 office copay in network, $1500.00
/// individual calendar-year deductible, 20 % coinsurance.
pub fn payer_answer() -> Value {
    let text = r#"{
        "resourceType": "CoverageEligibilityResponse",
        "status": "active", "purpose": ["benefits"], "patient": {"reference": "Patient/e4531916-b162-4f4b-90c2-ce37e132b8d4"},
        "created": "2024-04-30", "request": {"display": "270"}, "outcome": "complete",
        "insurer": {"reference": "Organization/sandbox-payer"},
        "insurance": [{"coverage": {"reference": "Coverage/sandbox-coverage-buster"}, "inforce": true, "item": [
            {"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "98"}]},
             "network": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-network", "code": "in"}]},
             "unit": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-unit", "code": "individual"}]},
             "term": {"coding": [{"system": "https://codesystem.x12.org/005010/615", "code": "27"}]},
             "benefit": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "copay"}]}, "allowedMoney": {"value": 25.00, "currency": "USD"}}]},
            {"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "30"}]},
             "unit": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-unit", "code": "individual"}]},
             "term": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-term", "code": "annual"}]},
             "benefit": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "deductible"}]}, "allowedMoney": {"value": 1500.00, "currency": "USD"}},
                         {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "copay-percent"}]}, "allowedUnsignedInt": 20}]}
        ]}]
    }"#;
    serde_json::from_str(text).expect("json")
}

/// Buster as the dependent (spouse) of Liz, group GRP-77.
pub fn dependent_270() -> eligibility::Eligibility {
    let mut cov = sandbox("Coverage", "sandbox-coverage-buster");
    cov["subscriber"] = json!({"reference": format!("Patient/{LIZ}")});
    cov["subscriberId"] = json!("SBX0000002");
    cov["relationship"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "spouse"}]});
    cov["class"] = json!([{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]}, "value": "GRP-77"}]);
    let (req, patient, subscriber, payer, doc) = (
        request(BUSTER, "30"),
        buster(),
        liz(),
        sandbox("Organization", "sandbox-payer"),
        sandbox("Practitioner", "sandbox-prescriber"),
    );
    let r = InquiryResources {
        request: &req,
        patient: &patient,
        coverage: &cov,
        subscriber: Some(&subscriber),
        insurer: &payer,
        provider: &doc,
    };
    coverage_eligibility_request_to_270(&r, &control()).expect("270")
}
