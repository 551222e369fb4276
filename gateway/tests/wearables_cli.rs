//! `fhirgate map` for wearable sources (DESIGN.md "CLI"): one collection Bundle on stdout,
//! exit 0 / 1 / 3 with refusals in an OperationOutcome on stderr, `--from fhir --to omh`,
//! and a generated HealthKit export mapped in bounded memory.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{repo_root, run_cli};

fn fixture(rel: &str) -> String {
    repo_root()
        .join("tests/fixtures/wearables")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn map(args: &[&str]) -> (i32, Value, Value) {
    let (code, out, err) = run_cli(args, &repo_root());
    let out = if out.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&out).expect("stdout json")
    };
    let err = if err.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&err).expect("stderr json")
    };
    (code, out, err)
}

#[test]
fn omh_maps_to_one_collection_bundle_and_exit_0() {
    let file = fixture("openmhealth/fhirgate-blood-glucose-3.0-capillary-array.json");
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "omh",
        "--to",
        "fhir",
        "--patient",
        "p1",
        &file,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 4);
    let first = &entries[0]["resource"];
    assert_eq!(first["subject"]["reference"], "Patient/p1");
    assert_eq!(first["code"]["coding"][0]["code"], "41653-7");
    assert_eq!(first["valueQuantity"]["value"].to_string(), "104.50");
    assert_eq!(first["valueQuantity"]["code"], "mg/dL");
    assert_eq!(first["effectiveDateTime"], "2021-03-01T07:30:00+05:30");
}

#[test]
fn nothing_mapped_exits_1_with_an_operation_outcome() {
    let file = fixture("openmhealth/omh-heart-rate-2.0-INVALID-incorrect-unit.json");
    let (code, out, err) = map(&[
        "map",
        "--from",
        "omh",
        "--to",
        "fhir",
        "--patient",
        "p1",
        &file,
    ]);
    assert_eq!(code, 1);
    assert!(out.is_null());
    assert_eq!(err["resourceType"], "OperationOutcome");
    let d = err["issue"][0]["diagnostics"]
        .as_str()
        .expect("diagnostics");
    assert!(d.contains("reading 1") && d.contains("unknown unit"), "{d}");
}

#[test]
fn truncated_healthkit_exits_3_with_the_mapped_records() {
    let file = fixture("apple-healthkit/fhirgate-INVALID-truncated-xml.xml");
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "healthkit",
        "--to",
        "fhir",
        "--patient",
        "p1",
        &file,
    ]);
    assert_eq!(code, 3);
    assert_eq!(bundle["entry"].as_array().map(Vec::len), Some(1));
    assert_eq!(err["issue"][0]["code"], "structure");
}

#[test]
fn fitbit_with_a_zone_gets_offsets_and_without_one_a_warning() {
    let file = fixture("fitbit/fitbit-webapi-sleep-date.json");
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "fitbit",
        "--to",
        "fhir",
        "--patient",
        "p1",
        "--timezone",
        "America/New_York",
        &file,
    ]);
    assert_eq!(code, 0);
    assert!(err.is_null(), "{err}");
    assert_eq!(
        bundle["entry"][0]["resource"]["effectivePeriod"]["start"],
        "2016-12-13T09:59:00-05:00"
    );
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "fitbit",
        "--to",
        "fhir",
        "--patient",
        "p1",
        &file,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        bundle["entry"][0]["resource"]["effectivePeriod"]["start"],
        "2016-12-13"
    );
    assert_eq!(err["issue"][0]["severity"], "warning");
}

#[test]
fn googlefit_datasets_map_with_utc_times_and_the_sources_digits() {
    let file = fixture("googlefit/googlefit-dataset-merge-weight.json");
    let (code, bundle, err) = map(&[
        "map",
        "--from",
        "googlefit",
        "--to",
        "fhir",
        "--patient",
        "p1",
        &file,
    ]);
    assert_eq!(code, 0, "{err}");
    let entries = bundle["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    let first = &entries[0]["resource"];
    assert_eq!(first["code"]["coding"][0]["code"], "29463-7");
    assert_eq!(
        first["valueQuantity"]["value"].to_string(),
        "72.0999984741211"
    );
    assert_eq!(first["valueQuantity"]["code"], "kg");
    assert_eq!(first["effectiveDateTime"], "2015-02-13T00:00:00Z");
    assert_eq!(
        first["contained"][0]["deviceName"][0]["name"],
        "com.fatsecret.android"
    );
    assert_eq!(
        entries[2]["resource"]["effectivePeriod"]["end"],
        "2015-07-08T03:17:10.02Z"
    );
    let (code, _, err) = map(&[
        "map",
        "--from",
        "googlefit",
        "--to",
        "fhir",
        "--patient",
        "p1",
        &fixture("googlefit/fhirgate-INVALID-unknown-measure.json"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        err["issue"][0]["diagnostics"],
        "reading 1: unknown measure \"com.google.calories.expended\" in googlefit input"
    );
}

#[test]
fn usage_errors_exit_2() {
    let file = fixture("openmhealth/omh-heart-rate-2.0.json");
    assert_eq!(
        run_cli(
            &["map", "--from", "omh", "--to", "fhir", &file],
            &repo_root()
        )
        .0,
        2
    );
    assert_eq!(
        run_cli(
            &[
                "map",
                "--from",
                "omh",
                "--to",
                "fhir",
                "--patient",
                "p1",
                "--timezone",
                "Nowhere/Atlantis",
                &file
            ],
            &repo_root()
        )
        .0,
        2
    );
    assert_eq!(
        run_cli(
            &[
                "map",
                "--from",
                "gpx",
                "--to",
                "fhir",
                "--patient",
                "p1",
                &file
            ],
            &repo_root()
        )
        .0,
        2
    );
}

#[test]
fn fhir_bundle_maps_back_to_omh_data_points() {
    let file = fixture("openmhealth/omh-blood-pressure-4.0.json");
    let (_, bundle_text, _) = run_cli(
        &[
            "map",
            "--from",
            "omh",
            "--to",
            "fhir",
            "--patient",
            "p1",
            &file,
        ],
        &repo_root(),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["map", "--from", "fhir", "--to", "omh", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bundle_text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let points: Value = serde_json::from_slice(&out.stdout).expect("json");
    let body = &points[0]["body"];
    assert_eq!(body["systolic_blood_pressure"]["value"].to_string(), "125");
    assert_eq!(body["diastolic_blood_pressure"]["unit"], "mmHg");
    assert_eq!(
        body["effective_time_frame"]["date_time"],
        "2020-02-05T07:25:00-08:00"
    );
}

/// A generated export.xml (~20 MB, 100 000 records) piped through stdin maps with a peak
/// RSS below 100 MB: the child's `VmHWM` (Linux `/proc/PID/status`, a high-water mark) is
/// sampled while its output is read.
#[test]
fn a_large_healthkit_export_streams_in_bounded_memory() {
    let record = r#" <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Apple Watch" sourceVersion="9.0" device="&lt;&lt;HKDevice: 0x1&gt;, name:Apple Watch, manufacturer:Apple, model:Watch, hardware:Watch6,1, software:9.0&gt;" unit="count/min" creationDate="2023-01-01 00:00:00 +0000" startDate="2023-01-01 00:00:00 +0000" endDate="2023-01-01 00:00:00 +0000" value="6"#;
    let n = 100_000;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args([
            "map",
            "--from",
            "healthkit",
            "--to",
            "fhir",
            "--patient",
            "p1",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        writeln!(w, "<HealthData locale=\"en_US\">").expect("write");
        for i in 0..n {
            writeln!(w, "{record}{}\"/>", i % 10).expect("write");
        }
        writeln!(w, "</HealthData>").expect("write");
    });
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let mut peak_kb = 0u64;
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let read = std::io::Read::read(&mut stdout, &mut buf).expect("read");
        if read == 0 {
            break;
        }
        total += read;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
    }
    writer.join().expect("writer");
    assert!(child.wait().expect("wait").success());
    assert!(total > 100 * n, "output {total} bytes");
    assert!(peak_kb > 0 && peak_kb < 100 * 1024, "peak RSS {peak_kb} kB");
}
