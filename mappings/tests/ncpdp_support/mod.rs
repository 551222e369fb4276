//! Shared helpers of the `ncpdp_*` tests: the sandbox prescription, a Header, fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fhirgate_mappings::ncpdp::Header;
use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A JSON file under the repository root.
pub fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(root().join(rel)).expect("read")).expect("json")
}

/// A SCRIPT fixture's bytes.
pub fn script_fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/ncpdp-script").join(name)).expect("fixture")
}

/// Every SCRIPT fixture: (file name, bytes).
pub fn script_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> =
        std::fs::read_dir(root().join("tests/fixtures/ncpdp-script"))
            .expect("dir")
            .map(|e| {
                let path = e.expect("entry").path();
                let name = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                (name, std::fs::read(&path).expect("read"))
            })
            .collect();
    out.sort();
    out
}

/// The sandbox seed bundle plus the Synthea patient it prescribes for, as one Bundle.
pub fn sandbox_bundle() -> Value {
    let mut sandbox = read_json("adapters/seed/sandbox.json");
    let synthea = read_json("adapters/seed/synthea-r4-transaction-Buster_Hoeger.json");
    let patient = synthea["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .expect("patient")
        .clone();
    sandbox["entry"]
        .as_array_mut()
        .expect("entries")
        .push(patient);
    sandbox
}

/// A NewRx header to the sandbox pharmacy.
pub fn header() -> Header {
    Header {
        message_id: "fhirgate-test-0001".to_owned(),
        sent_time: "2024-01-15T09:31:00Z".to_owned(),
        to_ncpdp_id: "9999999".to_owned(),
        from_id: "fhirgate".to_owned(),
        prescriber_order_number: Some("RX-0000001".to_owned()),
        ..Header::default()
    }
}
