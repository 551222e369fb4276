//! `fhirgate map` for NCPDP SCRIPT (DESIGN.md "CLI", issue 7 item 5): `--from ncpdp --to
//! fhir` writes one collection Bundle; `--from fhir --to ncpdp` writes one SCRIPT Message
//! (NewRx, CancelRx, RxFill); exit 0 mapped, 1 refused with an OperationOutcome on stderr
//! naming each missing element.

mod support;

use std::path::PathBuf;

use fhirgate_mappings::ncpdp::{Body, parse_message};
use serde_json::{Value, json};
use support::{repo_root, run_cli};

fn script(name: &str) -> String {
    repo_root()
        .join("tests/fixtures/ncpdp-script")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo_root().join(rel)).expect("read")).expect("json")
}

/// The sandbox seed bundle plus the Synthea patient its MedicationRequest names.
fn sandbox_bundle() -> Value {
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

/// Writes `v` to a temporary file (kept alive by the returned guard).
fn temp_json(v: &Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.json");
    std::fs::write(&path, serde_json::to_vec(v).expect("json")).expect("write");
    (dir, path)
}

fn map(args: &[&str]) -> (i32, String, Value) {
    let (code, out, err) = run_cli(args, &repo_root());
    let err = if err.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&err).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {err}"))
    };
    (code, out, err)
}

fn to_ncpdp(input: &Value) -> (i32, String, Value) {
    let (_dir, path) = temp_json(input);
    map(&[
        "map",
        "--from",
        "fhir",
        "--to",
        "ncpdp",
        &path.to_string_lossy(),
    ])
}

#[test]
fn new_rx_maps_to_one_collection_bundle() {
    let (code, out, err) = map(&[
        "map",
        "--from",
        "ncpdp",
        "--to",
        "fhir",
        &script("NewRx_2017071_basic.xml"),
    ]);
    assert_eq!(code, 0, "{err}");
    let bundle: Value = serde_json::from_str(&out).expect("bundle");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().expect("entries");
    let types: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "MedicationRequest",
            "Patient",
            "Practitioner",
            "Organization",
            "Medication"
        ]
    );
    let mr = &entries[0]["resource"];
    assert_eq!(mr["dispenseRequest"]["quantity"]["code"], "C48480");
    assert_eq!(mr["dispenseRequest"]["numberOfRepeatsAllowed"], 1);
    assert_eq!(mr["authoredOn"], "2026-01-15");
}

#[test]
fn patient_option_names_the_subject_instead_of_a_new_patient() {
    let (code, out, err) = map(&[
        "map",
        "--from",
        "ncpdp",
        "--to",
        "fhir",
        "--patient",
        "e4531916-b162-4f4b-90c2-ce37e132b8d4",
        &script("fhirgate-RxFill_2017071_dispensed.xml"),
    ]);
    assert_eq!(code, 0, "{err}");
    let bundle: Value = serde_json::from_str(&out).expect("bundle");
    let entries = bundle["entry"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .all(|e| e["resource"]["resourceType"] != "Patient")
    );
    let d = &entries[0]["resource"];
    assert_eq!(d["resourceType"], "MedicationDispense");
    assert_eq!(
        d["subject"]["reference"],
        "Patient/e4531916-b162-4f4b-90c2-ce37e132b8d4"
    );
}

#[test]
fn other_versions_and_broken_xml_exit_1_with_an_operation_outcome() {
    let (code, out, err) = map(&[
        "map",
        "--from",
        "ncpdp",
        "--to",
        "fhir",
        &script("Error_2023011_900.xml"),
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err["resourceType"], "OperationOutcome");
    assert_eq!(err["issue"][0]["code"], "not-supported");
    let d = err["issue"][0]["diagnostics"]
        .as_str()
        .expect("diagnostics");
    assert!(d.contains("2023011") && d.contains("2017071"), "{d}");

    let dir = tempfile::tempdir().expect("tempdir");
    let truncated = dir.path().join("truncated.xml");
    let bytes = std::fs::read(script("NewRx_2017071_basic.xml")).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let (code, _, err) = map(&[
        "map",
        "--from",
        "ncpdp",
        "--to",
        "fhir",
        &truncated.to_string_lossy(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(err["issue"][0]["code"], "structure");
}

#[test]
fn sandbox_prescription_maps_to_a_new_rx() {
    let (code, out, err) = to_ncpdp(&sandbox_bundle());
    assert_eq!(code, 0, "{err}");
    assert!(err.is_null(), "no warnings for amlodipine: {err}");
    let m = parse_message(out.trim().as_bytes()).expect("SCRIPT");
    assert!(matches!(m.body, Body::NewRx(_)));
    assert_eq!(m.header.to.as_deref(), Some("9999999"));
    assert_eq!(
        m.header.prescriber_order_number.as_deref(),
        Some("RX-0000001")
    );
    assert_eq!(m.header.message_id.len(), 32);
    assert!(
        m.header
            .sent_time
            .as_deref()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let t = m.body.transaction().expect("transaction");
    assert_eq!(
        t.pharmacy.as_ref().and_then(|p| p.ncpdp_id.as_deref()),
        Some("9999999")
    );
    assert_eq!(
        t.prescriber.as_ref().and_then(|p| p.npi.as_deref()),
        Some("1234567893")
    );
    let med = t.medication_prescribed.as_ref().expect("medication");
    assert_eq!(med.number_of_refills.as_deref(), Some("3"));
    assert_eq!(
        med.quantity.as_ref().and_then(|q| q.unit_code.as_deref()),
        Some("C48542")
    );
}

#[test]
fn cancelled_request_maps_to_a_cancel_rx_and_a_dispense_to_an_rx_fill() {
    let mut bundle = sandbox_bundle();
    for e in bundle["entry"].as_array_mut().expect("entries") {
        if e["resource"]["resourceType"] == "MedicationRequest" {
            e["resource"]["status"] = json!("cancelled");
        }
    }
    let (code, out, err) = to_ncpdp(&bundle);
    assert_eq!(code, 0, "{err}");
    assert!(matches!(
        parse_message(out.trim().as_bytes()).expect("SCRIPT").body,
        Body::CancelRx(_)
    ));

    let mut bundle = sandbox_bundle();
    bundle["entry"].as_array_mut().expect("entries").push(json!({"resource": {
        "resourceType": "MedicationDispense", "id": "d1", "status": "completed",
        "medicationCodeableConcept": {"text": "amlodipine 5 MG Oral Tablet"},
        "subject": {"reference": "Patient/e4531916-b162-4f4b-90c2-ce37e132b8d4"},
        "authorizingPrescription": [{"reference": "MedicationRequest/sandbox-medrx-1"}],
        "quantity": {"value": 30, "unit": "tablet", "system": "http://unitsofmeasure.org", "code": "{tbl}"},
        "daysSupply": {"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
        "whenHandedOver": "2024-01-16T10:00:00Z"
    }}));
    let (code, out, err) = to_ncpdp(&bundle);
    assert_eq!(code, 0, "{err}");
    let m = parse_message(out.trim().as_bytes()).expect("SCRIPT");
    assert!(matches!(m.body, Body::RxFill(_)));
    assert_eq!(
        m.header.from.as_deref(),
        Some("9999999"),
        "the pharmacy sends RxFill"
    );
    let t = m.body.transaction().expect("transaction");
    let d = t.medication_dispensed.as_ref().expect("dispensed");
    assert_eq!(d.last_fill_date.as_deref(), Some("2024-01-16"));
    assert_eq!(d.quantity.as_ref().map(|q| q.value.as_str()), Some("30"));
}

#[test]
fn incomplete_prescription_exits_1_naming_each_missing_element() {
    let (code, out, err) = to_ncpdp(&read_json(
        "tests/fixtures/fhir-r4/medicationrequest0301.json",
    ));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let issues = err["issue"].as_array().expect("issues");
    let expressions: Vec<&str> = issues
        .iter()
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    for expected in [
        "MedicationRequest.requester",
        "MedicationRequest.subject",
        "MedicationRequest.dispenseRequest.quantity.unit",
        "MedicationRequest.dispenseRequest.performer",
    ] {
        assert!(
            expressions.contains(&expected),
            "{expected} not in {expressions:?}"
        );
    }
    assert!(
        issues
            .iter()
            .all(|i| i["code"] == "required" && i["severity"] == "error")
    );

    // A NewRx fixture mapped to FHIR lacks the pharmacy's NCPDP ID (it names an NPI only).
    let (_, bundle, _) = map(&[
        "map",
        "--from",
        "ncpdp",
        "--to",
        "fhir",
        &script("NewRx_2017071_basic.xml"),
    ]);
    let (code, _, err) = to_ncpdp(&serde_json::from_str(&bundle).expect("bundle"));
    assert_eq!(code, 1);
    let d = err.to_string();
    assert!(
        d.contains("Organization.identifier:NCPDPProviderIdentificationNumber"),
        "{d}"
    );
}

#[test]
fn controlled_substance_maps_with_an_epcs_warning() {
    let mut bundle = sandbox_bundle();
    for e in bundle["entry"].as_array_mut().expect("entries") {
        if e["resource"]["resourceType"] == "MedicationRequest" {
            e["resource"]["medicationCodeableConcept"] = json!({
                "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049621", "display": "oxycodone hydrochloride 5 MG Oral Tablet"}],
                "text": "oxycodone hydrochloride 5 MG Oral Tablet"
            });
        }
    }
    let (code, out, err) = to_ncpdp(&bundle);
    assert_eq!(code, 0);
    assert!(parse_message(out.trim().as_bytes()).is_ok());
    assert_eq!(err["issue"][0]["severity"], "warning");
    let d = err["issue"][0]["diagnostics"]
        .as_str()
        .expect("diagnostics");
    assert!(d.contains("oxycodone") && d.contains("EPCS"), "{d}");
}
