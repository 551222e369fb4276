//! Throughput of the X12 eligibility mappings (issue 8): 271 → CoverageEligibilityResponse
//! (read envelopes, HL loops and EB segments, map to FHIR, serialize) and
//! CoverageEligibilityRequest → 270 (map, write the interchange), in messages/s and MB/s of
//! X12. Single-threaded. Run: `cargo bench -p fhirgate-mappings --bench x12 [-- MESSAGES]`.

use std::time::Instant;

use fhirgate_mappings::x12::eligibility::{
    self, InquiryControl, InquiryResources, ResponseContext, coverage_eligibility_request_to_270,
    eligibility_271_to_coverage_eligibility_response,
};
use fhirgate_mappings::x12::{InterchangeSpec, Item, Reader, write_interchange};
use serde_json::{Value, json};

fn repo(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn entry(bundle: &Value, rt: &str, id: &str) -> Value {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == rt && (r["id"] == id || id.is_empty()))
        .cloned()
        .unwrap_or(Value::Null)
}

/// One interchange holding `n` copies of the fixture 271's transaction set.
fn batch_271(n: usize) -> Vec<u8> {
    let text = String::from_utf8(repo(
        "tests/fixtures/x12/271_005010X279A1_subscriber_eligibility_response.x12",
    ))
    .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let set: String = lines[2..lines.len() - 2]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let mut out = format!("{}\n{}\n", lines[0], lines[1]).into_bytes();
    for i in 0..n {
        out.extend_from_slice(
            set.replace("*4321", &format!("*{:04}", i % 10_000))
                .as_bytes(),
        );
    }
    out.extend_from_slice(format!("GE*{n}*1~\nIEA*1*000000907~\n").as_bytes());
    out
}

fn context() -> ResponseContext {
    ResponseContext {
        id: None,
        patient: json!({"reference": "Patient/p"}),
        coverage: json!({"reference": "Coverage/c"}),
        insurer: Some(json!({"reference": "Organization/o"})),
        requestor: None,
        request: None,
        created: Some("2024-05-01T00:00:00Z".into()),
        purpose: Vec::new(),
        serviced: None,
        sent: None,
    }
}

fn bench_271(n: usize) {
    let input = batch_271(n);
    let ctx = context();
    let start = Instant::now();
    let mut mapped = 0usize;
    let mut json_bytes = 0usize;
    for item in Reader::new(input.as_slice()) {
        let Ok(Item::Transaction(set)) = item else {
            continue;
        };
        for e in eligibility::read(&set).unwrap_or_default() {
            if let Ok(m) = eligibility_271_to_coverage_eligibility_response(&e, &ctx) {
                json_bytes += m.response.to_string().len();
                mapped += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "271 → CoverageEligibilityResponse: {mapped} messages in {secs:.3} s = {:.0} messages/s, {:.1} MB/s of X12 ({} bytes in, {json_bytes} bytes of FHIR JSON out)",
        mapped as f64 / secs,
        input.len() as f64 / secs / 1e6,
        input.len()
    );
}

fn bench_270(n: usize) {
    let sandbox: Value =
        serde_json::from_slice(&repo("adapters/seed/sandbox.json")).unwrap_or(Value::Null);
    let synthea: Value = serde_json::from_slice(&repo(
        "tests/fixtures/synthea/synthea-r4-transaction-Buster_Hoeger.json",
    ))
    .unwrap_or(Value::Null);
    let patient = entry(&synthea, "Patient", "");
    let coverage = entry(&sandbox, "Coverage", "sandbox-coverage-buster");
    let insurer = entry(&sandbox, "Organization", "sandbox-payer");
    let provider = entry(&sandbox, "Practitioner", "sandbox-prescriber");
    let request = json!({"resourceType": "CoverageEligibilityRequest", "status": "active", "purpose": ["benefits"],
        "patient": {"reference": "Patient/p"}, "servicedDate": "2024-05-01", "created": "2024-05-01",
        "item": [{"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "98"}]}}]});
    let r = InquiryResources {
        request: &request,
        patient: &patient,
        coverage: &coverage,
        subscriber: None,
        insurer: &insurer,
        provider: &provider,
    };
    let created = jiff::civil::date(2024, 5, 1).at(9, 0, 0, 0);
    let mut spec = InterchangeSpec {
        sender_qualifier: "ZZ".into(),
        sender_id: "FHIRGATE".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "PAYER".into(),
        created,
        control_number: 1,
        usage: 'T',
        acknowledgment_requested: false,
        functional_id: "HS".into(),
        application_sender: "FHIRGATE".into(),
        application_receiver: "PAYER".into(),
        version: "005010X279A1".into(),
        line_breaks: false,
    };
    let start = Instant::now();
    let mut bytes = 0usize;
    let mut written = 0usize;
    for i in 0..n {
        let control = InquiryControl {
            reference: format!("R{i}"),
            trace_number: format!("T{i}"),
            originator: "9FHIRGATE0".into(),
            created,
        };
        let Ok(e) = coverage_eligibility_request_to_270(&r, &control) else {
            continue;
        };
        let Ok(set) = eligibility::write(&e, &format!("{:04}", i % 10_000 + 1)) else {
            continue;
        };
        spec.control_number = u32::try_from(i % 999_999_999 + 1).unwrap_or(1);
        if let Ok(out) = write_interchange(&spec, &[set]) {
            bytes += out.len();
            written += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "CoverageEligibilityRequest → 270: {written} messages in {secs:.3} s = {:.0} messages/s, {:.1} MB/s of X12 written",
        written as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(20_000);
    bench_271(n);
    bench_270(n);
}
