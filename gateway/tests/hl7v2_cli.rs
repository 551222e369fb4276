//! `fhirgate map --from hl7v2 --to fhir` and `--from fhir --to hl7v2` (DESIGN.md "CLI"):
//! every message of the input in one collection Bundle, messages each ending in CR and
//! separated by a blank line, `--timezone`, `--event`, exit 0 / 1 / 3 with an
//! OperationOutcome on stderr.

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::{fixture, repo_root, run_cli};

const FIXTURES: &[&str] = &[
    "ADT_A01_v2.3.1_simple_admit.hl7",
    "ADT_A01_v2.8_base_standard_example.hl7",
    "ADT_A01_v2.8_ghh_everyman.hl7",
    "ADT_A04_v2.3_redox_register.hl7",
    "ADT_A08_v2.3_update_patient.hl7",
    "ORM_O01_v2.3.1_with_ZDS_zsegment.hl7",
    "ORU_R01_v2.5.1_nist_hepatitis_panel.hl7",
    "ORU_R01_v2.5_lab_cbc.hl7",
    "RDE_O11_v2.8_pharmacy_order.hl7",
    "SIU_S12_v2.3_office_visit.hl7",
    "SIU_S12_v2.8_new_appointment.hl7",
];

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write input");
    path.to_string_lossy().into_owned()
}

fn json_or_null(text: &str) -> Value {
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// Every fixture, as is (CR, LF, CRLF, BOMs), one after the other: some separated by a
/// blank line, some directly followed by the next MSH.
fn all_fixtures() -> Vec<u8> {
    let mut all = Vec::new();
    for (i, name) in FIXTURES.iter().enumerate() {
        all.extend(fixture(&format!("hl7v2/{name}")));
        if !all.ends_with(b"\r") && !all.ends_with(b"\n") {
            all.push(b'\n');
        }
        if i % 2 == 0 {
            all.extend_from_slice(b"\n");
        }
    }
    all
}

#[test]
fn every_fixture_in_one_input_maps_to_one_collection_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_temp(&dir, "all.hl7", &all_fixtures());
    let (code, out, err) = run_cli(
        &[
            "map",
            "--from",
            "hl7v2",
            "--to",
            "fhir",
            "--timezone",
            "America/New_York",
            &input,
        ],
        &repo_root(),
    );
    assert_eq!(code, 0, "{err}");
    let bundle = json_or_null(&out);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 42);
    let count = |t: &str| {
        entries
            .iter()
            .filter(|e| e["resource"]["resourceType"] == t)
            .count()
    };
    assert_eq!(
        (
            count("Patient"),
            count("Encounter"),
            count("Appointment"),
            count("Observation"),
            count("MedicationRequest")
        ),
        (11, 6, 2, 22, 1)
    );
    // Every urn:uuid reference resolves to an entry of the Bundle.
    let urls: HashSet<&str> = entries
        .iter()
        .filter_map(|e| e["fullUrl"].as_str())
        .collect();
    assert_eq!(urls.len(), 42);
    let text = out.as_str();
    for reference in text.split("\"reference\":\"").skip(1) {
        let r = reference.split('"').next().unwrap_or_default();
        if r.starts_with("urn:uuid:") {
            assert!(urls.contains(r), "dangling {r}");
        }
    }
    let siu23 = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Appointment" && r["identifier"][0]["value"] == "1209")
        .expect("SIU v2.3");
    assert_eq!(siu23["start"], "2019-04-23T14:00:00-04:00");
    assert_eq!(siu23["end"], "2019-04-23T14:15:00-04:00");
    let outcome = json_or_null(&err);
    assert!(
        outcome["issue"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|i| i["severity"] == "warning"),
        "{err}"
    );
}

#[test]
fn without_a_timezone_offsetless_times_keep_their_date_with_a_warning() {
    let input = repo_root().join("tests/fixtures/hl7v2/SIU_S12_v2.3_office_visit.hl7");
    let input = input.to_string_lossy();
    let (code, out, err) = run_cli(
        &["map", "--from", "hl7v2", "--to", "fhir", &input],
        &repo_root(),
    );
    assert_eq!(code, 0, "{err}");
    let bundle = json_or_null(&out);
    let appt = &bundle["entry"][0]["resource"];
    assert_eq!(appt["resourceType"], "Appointment");
    assert!(appt.get("start").is_none());
    assert_eq!(appt["minutesDuration"], 15);
    let outcome = json_or_null(&err);
    let issues = outcome["issue"].as_array().expect("issues");
    assert!(issues.iter().all(|i| i["severity"] == "warning"));
    assert!(
        issues
            .iter()
            .any(|i| i["diagnostics"].as_str().is_some_and(|d| d
                .starts_with("message 1 (MSH-10 8907-45): ")
                && d.contains("no timezone")))
    );
    let (code, _, err) = run_cli(
        &[
            "map",
            "--from",
            "hl7v2",
            "--to",
            "fhir",
            "--timezone",
            "Mars/Olympus",
            &input,
        ],
        &repo_root(),
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn refused_messages_give_exit_3_or_1_with_an_operation_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut mixed = b"NTE|1||a stray segment before any MSH\r".to_vec();
    mixed.extend(fixture("hl7v2/ADT_A08_v2.3_update_patient.hl7"));
    mixed.extend_from_slice(b"\r\nMSH|^~\\&|A|B|C|D|2024||MDM^T02|X9|P|2.5\rPID|1||1\r\n\n");
    let input = write_temp(&dir, "mixed.hl7", &mixed);
    let (code, out, err) = run_cli(
        &["map", "--from", "hl7v2", "--to", "fhir", &input],
        &repo_root(),
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        json_or_null(&out)["entry"]
            .as_array()
            .expect("entries")
            .len(),
        2
    );
    let outcome = json_or_null(&err);
    let errors: Vec<&str> = outcome["issue"]
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| i["severity"] == "error")
        .filter_map(|i| i["diagnostics"].as_str())
        .collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(errors[0].contains("not inside a message"));
    assert!(
        errors[1].starts_with("message 3: ") && errors[1].contains("MDM is not mapped"),
        "{errors:?}"
    );

    let garbage = write_temp(&dir, "garbage.hl7", b"this is not HL7\nMSH|^~\\&|A\n");
    let (code, out, err) = run_cli(
        &["map", "--from", "hl7v2", "--to", "fhir", &garbage],
        &repo_root(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert_eq!(json_or_null(&err)["resourceType"], "OperationOutcome");
    let empty = write_temp(&dir, "empty.hl7", b"\n\n");
    let (code, _, err) = run_cli(
        &["map", "--from", "hl7v2", "--to", "fhir", &empty],
        &repo_root(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("no HL7 v2 message"));
}

fn resource(name: &str) -> Value {
    serde_json::from_slice(&fixture(&format!("fhir-r4/{name}"))).expect("fixture json")
}

#[test]
fn fhir_bundle_to_hl7v2_messages_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": resource("appointment-example.json")},
        {"resource": resource("patient-example.json")},
        {"resource": resource("practitioner-example.json")},
        {"resource": resource("encounter-example.json")}
    ]});
    let input = write_temp(&dir, "bundle.json", bundle.to_string().as_bytes());
    let (code, out, err) = run_cli(
        &["map", "--from", "fhir", "--to", "hl7v2", &input],
        &repo_root(),
    );
    assert_eq!(code, 0, "{err}");
    let messages: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(messages.len(), 2, "{out:?}");
    assert!(messages[0].ends_with('\r') && messages[1].ends_with("\r\n"));
    assert!(messages[0].starts_with("MSH|^~\\&|FHIRGATE|"));
    assert!(messages[0].contains("|SIU^S12^SIU_S12|"));
    assert!(messages[0].contains(
        "\rPID|1||12345^^^Acme Healthcare&1.2.36.146.595.217.0.1&ISO^MR||Chalmers^Peter^James"
    ));
    assert!(messages[1].contains("|ADT^A04^ADT_A01|"));
    assert!(err.is_empty(), "{err}");

    let hl7 = write_temp(&dir, "out.hl7", out.as_bytes());
    let (code, back, err) = run_cli(
        &["map", "--from", "hl7v2", "--to", "fhir", &hl7],
        &repo_root(),
    );
    assert_eq!(code, 0, "{err}");
    let back = json_or_null(&back);
    let types: Vec<&str> = back["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .collect();
    assert_eq!(types, ["Appointment", "Patient", "Encounter", "Patient"]);
    assert_eq!(
        back["entry"][0]["resource"]["start"],
        "2013-12-10T09:00:00+00:00"
    );
    assert_eq!(back["entry"][2]["resource"]["class"]["code"], "IMP");
}

#[test]
fn event_flag_and_refusals_from_fhir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let appt = write_temp(&dir, "a.json", &fixture("fhir-r4/appointment-example.json"));
    let (code, out, err) = run_cli(
        &[
            "map", "--from", "fhir", "--to", "hl7v2", "--event", "S15", &appt,
        ],
        &repo_root(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("|SIU^S15^SIU_S12|"));
    assert!(err.contains("not resolved"), "a warning: {err}");
    let (code, out, err) = run_cli(
        &[
            "map", "--from", "fhir", "--to", "hl7v2", "--event", "A04", &appt,
        ],
        &repo_root(),
    );
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        json_or_null(&err)["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("event A04"))
    );

    let mut planned = resource("encounter-example.json");
    planned["status"] = json!("planned");
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": resource("appointment-example.json")}, {"resource": planned}]});
    let input = write_temp(&dir, "b.json", bundle.to_string().as_bytes());
    let (code, out, err) = run_cli(
        &["map", "--from", "fhir", "--to", "hl7v2", &input],
        &repo_root(),
    );
    assert_eq!(code, 3, "{err}");
    assert!(out.contains("SIU^S12") && !out.contains("ADT^"));
    assert!(err.contains("resource 2 (Encounter)") && err.contains("planned"));

    let patient = write_temp(&dir, "p.json", &fixture("fhir-r4/patient-example.json"));
    let (code, _, err) = run_cli(
        &["map", "--from", "fhir", "--to", "hl7v2", &patient],
        &repo_root(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("no Appointment or Encounter"));
    let bad = write_temp(&dir, "bad.json", b"{not json");
    let (code, _, err) = run_cli(
        &["map", "--from", "fhir", "--to", "hl7v2", &bad],
        &repo_root(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("not JSON"));
}

#[test]
fn stdin_is_read_when_no_input_is_named() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["map", "--from", "hl7v2", "--to", "fhir", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&fixture("hl7v2/ORU_R01_v2.5.1_nist_hepatitis_panel.hl7"))
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let bundle: Value = serde_json::from_slice(&out.stdout).expect("json");
    let q = &bundle["entry"][2]["resource"]["valueQuantity"];
    assert_eq!(q["value"].to_string(), "0.70");
    assert_eq!(q["code"], "[IU]/mL");
}
