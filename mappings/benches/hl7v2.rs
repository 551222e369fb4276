//! Throughput of the HL7 v2 mappings, both directions, single-threaded.
//!
//! Inbound: the 11 fixtures (23 KiB, every message type fhirgate reads) cycled, as
//! messages/s and MB/s of ER7 input, for `parse` alone and for `parse` + `message_to_fhir`
//! (with a time zone, so offset-less times are resolved). Outbound: the official
//! Appointment example with a virtual-visit extension → SIU^S12, and the Encounter example
//! → ADT^A04, as messages/s and MB/s of ER7 output. Inputs come from `tests/fixtures`; the
//! median of 5 passes is reported.
//!
//! Run: `cargo bench -p fhirgate-mappings --bench hl7v2 [-- MESSAGES]` (default 20 000).

use std::path::Path;
use std::time::Instant;

use fhirgate_mappings::hl7v2::{self, Context, Related, WriteOptions};
use serde_json::{Value, json};

const PASSES: usize = 5;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn fixtures() -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(root().join("hl7v2"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

fn fhir(name: &str) -> Value {
    std::fs::read(root().join("fhir-r4").join(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// Runs `f` over `n` items `PASSES` times; returns (items/s, MB/s) of the median pass, where
/// `f` returns the bytes it counts for one item.
fn measure(n: usize, mut f: impl FnMut(usize) -> usize) -> (f64, f64) {
    let mut runs: Vec<(f64, f64)> = (0..PASSES)
        .map(|_| {
            let start = Instant::now();
            let mut bytes = 0usize;
            for i in 0..n {
                bytes += f(i);
            }
            let secs = start.elapsed().as_secs_f64();
            (n as f64 / secs, bytes as f64 / secs / 1e6)
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[PASSES / 2]
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let inputs = fixtures();
    assert!(!inputs.is_empty(), "no fixtures under tests/fixtures/hl7v2");
    let ctx = Context::new(Some("America/New_York")).expect("zone");

    let (msgs, mb) = measure(n, |i| {
        let b = &inputs[i % inputs.len()];
        std::hint::black_box(hl7v2::parse(b).map(|m| m.segments().len()).unwrap_or(0));
        b.len()
    });
    println!("inbound  parse only          {msgs:>10.0} messages/s {mb:>8.1} MB/s");
    let mut resources = 0usize;
    let (msgs, mb) = measure(n, |i| {
        let b = &inputs[i % inputs.len()];
        if let Ok(m) = hl7v2::parse(b).and_then(|m| hl7v2::message_to_fhir(&m, &ctx)) {
            resources += m.resources.len();
            std::hint::black_box(&m);
        }
        b.len()
    });
    println!(
        "inbound  parse + to FHIR     {msgs:>10.0} messages/s {mb:>8.1} MB/s  ({resources} resources)"
    );

    let patient = fhir("patient-example.json");
    let practitioner = fhir("practitioner-example.json");
    let related = Related {
        patient: Some(&patient),
        others: vec![&practitioner],
        ..Related::default()
    };
    let mut appointment = fhir("appointment-example.json");
    appointment["extension"] = json!([{"url": hl7v2::VIRTUAL_SERVICE, "extension": [
        {"url": "channelType", "valueCoding": {"system": "http://hl7.org/fhir/virtual-service-type", "code": "zoom"}},
        {"url": "address", "valueUrl": "https://zoom.example.org/j/1?pwd=x&y=z"}]}]);
    let encounter = fhir("encounter-example.json");
    let opts = WriteOptions::default();
    let (msgs, mb) = measure(n, |_| {
        hl7v2::appointment_to_siu(&appointment, &related, &opts)
            .map(|o| o.message.len())
            .unwrap_or(0)
    });
    println!("outbound Appointment → SIU   {msgs:>10.0} messages/s {mb:>8.1} MB/s");
    let (msgs, mb) = measure(n, |_| {
        hl7v2::encounter_to_adt(&encounter, &related, &opts)
            .map(|o| o.message.len())
            .unwrap_or(0)
    });
    println!("outbound Encounter → ADT     {msgs:>10.0} messages/s {mb:>8.1} MB/s");
}
