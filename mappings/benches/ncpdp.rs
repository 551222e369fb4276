//! Throughput of the NCPDP SCRIPT 2017071 mappings (issue 7): NewRx → FHIR
//! (`parse_message` + `message_to_fhir`) and FHIR → NewRx (`missing_new_rx_elements` +
//! `medication_request_to_new_rx`), in messages/s and MB/s of SCRIPT XML.
//! Run: `cargo bench -p fhirgate-mappings --bench ncpdp [-- MESSAGES]`.
//!
//! Single-threaded. Inputs are built here from the repository's fixtures and sandbox seed:
//! a block of distinct NewRx messages (the basic, structured-Sig and REMS fixtures and the
//! sandbox NewRx, each with its own MessageID and patient name) cycled for the requested
//! count. Each figure is given per wall-clock second and per second of this thread's CPU
//! time (`/proc/thread-self/schedstat`), the "per core" figure; the median of 5 passes.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use fhirgate_mappings::ncpdp::{
    Header, InboundContext, Prescription, medication_request_to_new_rx, message_to_fhir,
    missing_new_rx_elements, parse_message,
};
use serde_json::Value;

const PASSES: usize = 5;
const BLOCK: usize = 1024;

fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn sandbox_prescription() -> Prescription {
    let mut bundle = json("adapters/seed/sandbox.json");
    let synthea = json("adapters/seed/synthea-r4-transaction-Buster_Hoeger.json");
    let patient = synthea["entry"]
        .as_array()
        .and_then(|e| {
            e.iter()
                .find(|e| e["resource"]["resourceType"] == "Patient")
                .cloned()
        })
        .expect("patient");
    bundle["entry"]
        .as_array_mut()
        .expect("entries")
        .push(patient);
    Prescription::from_bundle(&bundle).expect("prescription")
}

fn header(i: usize) -> Header {
    Header {
        message_id: format!("bench-{i:08}"),
        sent_time: "2024-01-15T09:31:00Z".to_owned(),
        to_ncpdp_id: "9999999".to_owned(),
        from_id: "fhirgate".to_owned(),
        prescriber_order_number: Some(format!("RX-{i:07}")),
        ..Header::default()
    }
}

/// Median (wall, cpu) seconds of `PASSES` runs of `f`.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    let mut runs: Vec<(f64, f64)> = (0..PASSES)
        .map(|_| {
            let (wall, cpu) = (Instant::now(), cpu_seconds());
            f();
            (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu)
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[PASSES / 2]
}

fn report(what: &str, messages: usize, bytes: usize, (wall, cpu): (f64, f64)) {
    let mb = bytes as f64 / 1e6;
    println!(
        "{what}: {messages} messages, {mb:.1} MB XML in {wall:.3} s: {:.0} messages/s, {:.1} MB/s (per CPU second: {:.0} messages/s, {:.1} MB/s)",
        messages as f64 / wall,
        mb / wall,
        messages as f64 / cpu,
        mb / cpu,
    );
}

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let p = sandbox_prescription();
    let mut sources: Vec<String> = [
        "tests/fixtures/ncpdp-script/NewRx_2017071_basic.xml",
        "tests/fixtures/ncpdp-script/NewRx_2017071_structured_sig.xml",
        "tests/fixtures/ncpdp-script/NewRx_no_namespace_no_version_REMS_isotretinoin.xml",
    ]
    .iter()
    .map(|f| String::from_utf8(read(f)).expect("utf-8"))
    .collect();
    sources.push(medication_request_to_new_rx(&p, &header(0)).expect("sandbox NewRx"));
    // Distinct messages: each with its own MessageID and patient last name.
    let block: Vec<Vec<u8>> = (0..BLOCK)
        .map(|i| {
            let src = &sources[i % sources.len()];
            let id = parse_message(src.as_bytes())
                .expect("fixture parses")
                .header
                .message_id;
            src.replacen(&format!(">{id}<"), &format!(">bench-{i:08}<"), 1)
                .replacen("<LastName>", &format!("<LastName>N{i}"), 1)
                .into_bytes()
        })
        .collect();
    let ctx = InboundContext::default();

    let mut in_bytes = 0;
    let timing = measure(|| {
        in_bytes = 0;
        for i in 0..count {
            let xml = &block[i % BLOCK];
            in_bytes += xml.len();
            let m = parse_message(xml).expect("parse");
            black_box(message_to_fhir(&m, &ctx).expect("to FHIR"));
        }
    });
    report(
        "NewRx → FHIR (parse_message + message_to_fhir)",
        count,
        in_bytes,
        timing,
    );

    let headers: Vec<Header> = (0..BLOCK).map(header).collect();
    let mut out_bytes = 0;
    let timing = measure(|| {
        out_bytes = 0;
        for i in 0..count {
            assert!(missing_new_rx_elements(&p).is_empty());
            let xml = medication_request_to_new_rx(&p, &headers[i % BLOCK]).expect("NewRx");
            out_bytes += xml.len();
            black_box(xml);
        }
    });
    report(
        "FHIR → NewRx (required-element check + medication_request_to_new_rx)",
        count,
        out_bytes,
        timing,
    );
}
