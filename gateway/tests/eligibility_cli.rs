//! `fhirgate map --from x12 --to fhir` and `--from fhir --to x12` (issue 8, DESIGN.md
//! "CLI"): the fixtures map to one collection Bundle (exit 0), envelope mismatches are
//! warnings on stderr, transaction sets other than 270/271 are refused (exit 1, or 3 next to
//! a mapped one); a Bundle with a CoverageEligibilityRequest becomes a 270 that maps back.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::{repo_root, run_cli};

fn fixture(name: &str) -> String {
    repo_root()
        .join("tests/fixtures/x12")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn json_or_null(text: &str) -> Value {
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

fn map(args: &[&str]) -> (i32, Value, Value) {
    let (code, out, err) = run_cli(args, &repo_root());
    (code, json_or_null(&out), json_or_null(&err))
}

fn map_stdin(args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn resources<'a>(bundle: &'a Value, rt: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == rt)
        .collect()
}

#[test]
fn the_271_fixture_maps_to_a_bundle_with_benefits_and_coverage() {
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "x12",
        "--to",
        "fhir",
        &fixture("271_005010X279A1_subscriber_eligibility_response.x12"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, Value::Null);
    assert_eq!(bundle["type"], "collection");
    let response = resources(&bundle, "CoverageEligibilityResponse")[0];
    assert_eq!(response["outcome"], "complete");
    assert_eq!(response["insurance"][0]["inforce"], true);
    let coverage_url = response["insurance"][0]["coverage"]["reference"]
        .as_str()
        .expect("coverage ref");
    let coverage = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["fullUrl"] == coverage_url)
        .expect("coverage entry");
    assert_eq!(coverage["resource"]["subscriberId"], "123456789");
    let patient = resources(&bundle, "Patient")[0];
    assert_eq!(patient["name"][0]["family"], "SMITH");
    assert_eq!(patient["birthDate"], "1963-05-19");
    let amounts: Vec<String> = response["insurance"][0]["item"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| {
            i["benefit"][0]
                .get("allowedMoney")
                .map(|m| m["value"].to_string())
        })
        .collect();
    assert_eq!(amounts.iter().filter(|a| *a == "10.00").count(), 10);
    assert_eq!(amounts.iter().filter(|a| *a == "30.00").count(), 10);
}

#[test]
fn the_aaa_271_maps_with_a_warning_for_its_control_number() {
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "x12",
        "--to",
        "fhir",
        &fixture("271_005010X279A1_AAA_rejection.x12"),
    ]);
    assert_eq!(code, 0);
    let response = resources(&bundle, "CoverageEligibilityResponse")[0];
    assert_eq!(response["outcome"], "error");
    assert_eq!(response["error"][0]["code"]["coding"][0]["code"], "50");
    assert_eq!(err["issue"][0]["severity"], "warning");
    assert!(
        err["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("SE02"),
        "{err}"
    );
}

#[test]
fn other_transaction_sets_are_refused_and_mixed_inputs_exit_3() {
    let (code, out, err) = map(&[
        "map",
        "--from",
        "x12",
        "--to",
        "fhir",
        &fixture("835_005010X221A1_managed_care_remittance.x12"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(out, Value::Null);
    assert!(
        err["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("a 835 is not mapped"),
        "{err}"
    );
    let mut both = std::fs::read(fixture(
        "270_005010X279A1_subscriber_eligibility_inquiry.x12",
    ))
    .expect("270");
    both.extend(std::fs::read(fixture("837P_005010X222A2_professional_claim.x12")).expect("837"));
    let (code, out, err) = map_stdin(&["map", "--from", "x12", "--to", "fhir", "-"], &both);
    assert_eq!(code, 3, "{err}");
    let bundle = json_or_null(&out);
    assert_eq!(resources(&bundle, "CoverageEligibilityRequest").len(), 1);
    assert!(err.contains("a 837 is not mapped"), "{err}");
    let (code, out, err) = map_stdin(&["map", "--from", "x12", "--to", "fhir"], b"ISA*00*garbage");
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("ISA"), "{err}");
}

#[test]
fn a_request_bundle_becomes_a_270_that_maps_back() {
    let synthea: Value = serde_json::from_slice(
        &std::fs::read(
            repo_root().join("tests/fixtures/synthea/synthea-r4-transaction-Buster_Hoeger.json"),
        )
        .expect("synthea"),
    )
    .expect("json");
    let sandbox: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("adapters/seed/sandbox.json")).expect("sandbox"),
    )
    .expect("json");
    let pick = |b: &Value, rt: &str, id: &str| -> Value {
        b["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == rt && (id.is_empty() || r["id"] == id))
            .cloned()
            .expect("resource")
    };
    let mut patient = pick(&synthea, "Patient", "");
    patient["id"] = json!("e4531916-b162-4f4b-90c2-ce37e132b8d4");
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "CoverageEligibilityRequest", "status": "active", "purpose": ["benefits"],
            "patient": {"reference": "Patient/e4531916-b162-4f4b-90c2-ce37e132b8d4"}, "created": "2024-05-01", "servicedDate": "2024-05-02",
            "provider": {"reference": "Practitioner/sandbox-prescriber"}, "insurer": {"reference": "Organization/sandbox-payer"},
            "insurance": [{"coverage": {"reference": "Coverage/sandbox-coverage-buster"}}]}},
        {"resource": patient},
        {"resource": pick(&sandbox, "Coverage", "sandbox-coverage-buster")},
        {"resource": pick(&sandbox, "Organization", "sandbox-payer")},
        {"resource": pick(&sandbox, "Practitioner", "sandbox-prescriber")},
    ]});
    let (code, x12, err) = map_stdin(
        &["map", "--from", "fhir", "--to", "x12"],
        bundle.to_string().as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        x12.starts_with("ISA*00*          *00*          *ZZ*FHIRGATE       *ZZ*PAYER          *"),
        "{x12}"
    );
    for expected in [
        "GS*HS*FHIRGATE*PAYER*",
        "ST*270*0001*005010X279A1~",
        "NM1*IL*1*Hoeger*Buster****MI*SBX0000001~",
        "DTP*291*D8*20240502~",
        "EQ*30~",
    ] {
        assert!(x12.contains(expected), "{expected} in\n{x12}");
    }
    let (code, back, err) = map_stdin(&["map", "--from", "x12", "--to", "fhir"], x12.as_bytes());
    assert_eq!(code, 0, "{err}");
    let back = json_or_null(&back);
    let request = resources(&back, "CoverageEligibilityRequest")[0];
    assert_eq!(request["servicedDate"], "2024-05-02");
    assert_eq!(
        resources(&back, "Coverage")[0]["subscriberId"],
        "SBX0000001"
    );
    assert_eq!(
        resources(&back, "Practitioner")[0]["identifier"][0]["value"],
        "1234567893"
    );
    let (code, _, err) = map_stdin(
        &["map", "--from", "fhir", "--to", "x12"],
        br#"{"resourceType": "Patient"}"#,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no CoverageEligibilityRequest or CoverageEligibilityResponse"),
        "{err}"
    );
}
