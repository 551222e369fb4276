//! `$ingest`'s streamed answer, end to end through `fhirgate serve` and the embedded store,
//! over plain TCP so the tests control when the client writes and reads:
//! - the batch-response begins while the request body is still being sent;
//! - a client that reads only after sending everything (as Python's `http.client` does)
//!   still gets the whole answer of a large input (the answer is spooled, never blocks);
//! - a chunked body cut at `ingest.max_bytes` after some readings answers them, then a
//!   final `413` entry, and exactly the answered readings are stored;
//! - mapper warnings are in the answer: per reading in `response.outcome` (Fitbit without a
//!   zone), about the input in one final `200 OK` entry (HealthKit elements not mapped);
//! - the conditional create is per patient: the same reading is stored for each patient.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::{Gateway, authed, repo_root, store_config};

/// `<Record>` number `i`: a heart rate at a distinct minute, or with a unit no table knows.
fn record(i: usize, unit: &str) -> String {
    let (month, day, hour, minute) = (1 + i / 40_320, 1 + (i / 1440) % 28, (i / 60) % 24, i % 60);
    format!(
        "<Record type=\"HKQuantityTypeIdentifierHeartRate\" sourceName=\"Watch\" unit=\"{unit}\" startDate=\"2024-{month:02}-{day:02} {hour:02}:{minute:02}:00 -0800\" endDate=\"2024-{month:02}-{day:02} {hour:02}:{minute:02}:00 -0800\" value=\"{}\"/>\n",
        50 + i % 90
    )
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HealthData locale=\"en_US\">\n";
const TAIL: &str = "</HealthData>\n";

fn records(range: std::ops::Range<usize>, unit: &str) -> String {
    range.map(|i| record(i, unit)).collect()
}

/// How the raw client sends.
enum Send {
    /// `Content-Length`, the whole body, and only then read the answer (half duplex).
    WholeThenRead(Vec<u8>),
    /// Chunked, from a thread, while this thread reads; each part is one chunk. After the
    /// first part the writer waits (up to 60 s) until the answer's status line arrived.
    Chunked(Vec<Vec<u8>>, bool),
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    /// The status line arrived before the last chunk of the request was sent.
    early: bool,
}

fn addr(gw: &Gateway) -> String {
    gw.url.trim_start_matches("http://").to_owned()
}

fn head(path: &str, token: &str, framing: &str) -> Vec<u8> {
    format!(
        "POST /fhir{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/xml\r\n{framing}\r\n"
    )
    .into_bytes()
}

/// Reads a response: status, then the body (chunked or by Content-Length).
fn read_answer(stream: TcpStream) -> (u16, Vec<u8>) {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let (mut chunked, mut length) = (false, None);
    loop {
        line.clear();
        r.read_line(&mut line).expect("header");
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        chunked |= l == "transfer-encoding: chunked";
        if let Some(n) = l.strip_prefix("content-length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).expect("chunk size");
            let size = usize::from_str_radix(line.trim(), 16).expect("hex size");
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).expect("chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let mut chunk = vec![0; length.unwrap_or(0)];
        r.read_exact(&mut chunk).expect("body");
        body = chunk;
    }
    (status, body)
}

fn raw_post(gw: &Gateway, path: &str, token: &str, send: Send) -> Answer {
    let stream = TcpStream::connect(addr(gw)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .expect("timeout");
    let mut w = stream.try_clone().expect("clone");
    match send {
        Send::WholeThenRead(body) => {
            let framing = format!("Content-Length: {}\r\n", body.len());
            w.write_all(&head(path, token, &framing)).expect("head");
            w.write_all(&body)
                .expect("whole body written before any read");
            let (status, body) = read_answer(stream);
            Answer {
                status,
                body,
                early: false,
            }
        }
        Send::Chunked(parts, wait_for_head) => {
            let (seen_tx, seen_rx) = mpsc::channel::<()>();
            let request_head = head(path, token, "Transfer-Encoding: chunked\r\n");
            let writer = std::thread::spawn(move || {
                let mut early = false;
                // Write errors are ignored: the server may stop reading a body it cut off.
                let _ = w.write_all(&request_head);
                let n = parts.len();
                for (i, part) in parts.into_iter().enumerate() {
                    let _ = write!(w, "{:x}\r\n", part.len());
                    let _ = w.write_all(&part);
                    let _ = w.write_all(b"\r\n");
                    let _ = w.flush();
                    if i == 0 && wait_for_head && n > 1 {
                        early = seen_rx.recv_timeout(Duration::from_secs(60)).is_ok();
                    }
                }
                let _ = w.write_all(b"0\r\n\r\n");
                early
            });
            let (status, body) = {
                let peek = stream.try_clone().expect("clone");
                let mut first = [0u8; 1];
                peek.peek(&mut first).expect("answer begins");
                let _ = seen_tx.send(());
                read_answer(stream)
            };
            let early = writer.join().expect("writer");
            Answer {
                status,
                body,
                early,
            }
        }
    }
}

fn statuses(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn patient_token(gw: &Gateway, patient: &str, scope: &str) -> String {
    gw.token_with(&["--scope", scope, "--patient", patient])
}

async fn count(gw: &Gateway, query: &str) -> u64 {
    let found: Value = gw
        .system_client()
        .get(gw.fhir(&format!("/Observation?{query}&_summary=count")))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    found["total"].as_u64().expect("total")
}

#[tokio::test]
async fn the_answer_begins_while_the_body_is_still_being_sent() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let token = patient_token(&gw, "p1", "launch/patient patient/Observation.c");
    // batch_size is 100: the first 150 readings fill a batch, whose entries begin the answer.
    let first = format!("{HEAD}{}", records(0..150, "count/min")).into_bytes();
    let rest = format!("{}{TAIL}", records(150..200, "count/min")).into_bytes();
    let answer = tokio::task::spawn_blocking(move || {
        let a = raw_post(
            &gw,
            "/Patient/p1/$ingest?format=healthkit",
            &token,
            Send::Chunked(vec![first, rest], true),
        );
        (a, gw)
    })
    .await
    .expect("join");
    let (answer, gw) = answer;
    assert_eq!(answer.status, 200);
    assert!(
        answer.early,
        "the status line came only after the whole body was sent"
    );
    let bundle: Value = serde_json::from_slice(&answer.body).expect("one JSON Bundle");
    assert_eq!(bundle["type"], "batch-response");
    assert_eq!(statuses(&bundle), vec!["201 Created"; 200]);
    assert_eq!(count(&gw, "subject=Patient/p1").await, 200);
}

#[tokio::test]
async fn a_client_that_reads_only_after_sending_everything_gets_the_whole_answer() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let token = patient_token(&gw, "p1", "launch/patient patient/Observation.c");
    // 60,000 refused readings: a 20 MB body and an answer of about 17 MB, more than the
    // socket buffers hold, so a server that waited for the client to read would never
    // finish reading the body (and the client would never start reading).
    let n = 60_000;
    let body = format!("{HEAD}{}{TAIL}", records(0..n, "furlongs/fortnight")).into_bytes();
    let (answer, _gw) = tokio::task::spawn_blocking(move || {
        let a = raw_post(
            &gw,
            "/Patient/p1/$ingest?format=healthkit",
            &token,
            Send::WholeThenRead(body),
        );
        (a, gw)
    })
    .await
    .expect("join");
    assert_eq!(answer.status, 200);
    assert!(answer.body.len() > 10 << 20, "{} bytes", answer.body.len());
    let bundle: Value = serde_json::from_slice(&answer.body).expect("one JSON Bundle");
    let entries = bundle["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), n);
    let last = &entries[n - 1]["response"];
    assert_eq!(last["status"], "400 Bad Request");
    assert_eq!(
        last["outcome"]["issue"][0]["diagnostics"],
        format!(
            "reading {n}: unknown unit \"furlongs/fortnight\" for HKQuantityTypeIdentifierHeartRate in healthkit input"
        )
    );
}

#[tokio::test]
async fn a_body_cut_at_the_limit_answers_what_was_read_then_a_413_entry() {
    let config = format!(
        "{}ingest:\n  max_bytes: 64KiB\n  batch_size: 10\n",
        store_config("")
    );
    let gw = Gateway::start(&config);
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let token = patient_token(&gw, "p1", "launch/patient patient/Observation.c");
    // About 170 bytes per record: the limit falls in the third part. A reading counts when
    // its element ends (`/>`) within the first 65,536 bytes.
    let mut end = HEAD.len();
    let within = (0..400)
        .take_while(|&i| {
            end += record(i, "count/min").len();
            end - 1 <= 65_536
        })
        .count();
    let parts = vec![
        format!("{HEAD}{}", records(0..100, "count/min")).into_bytes(),
        records(100..200, "count/min").into_bytes(),
        format!("{}{TAIL}", records(200..400, "count/min")).into_bytes(),
    ];
    let (answer, gw) = tokio::task::spawn_blocking(move || {
        let a = raw_post(
            &gw,
            "/Patient/p1/$ingest?format=healthkit",
            &token,
            Send::Chunked(parts, false),
        );
        (a, gw)
    })
    .await
    .expect("join");
    assert_eq!(answer.status, 200);
    let bundle: Value = serde_json::from_slice(&answer.body).expect("one JSON Bundle");
    let statuses = statuses(&bundle);
    let (last, readings) = statuses.split_last().expect("entries");
    assert_eq!(last, "413 Payload Too Large");
    assert_eq!(readings.len(), within);
    assert!(readings.iter().all(|s| s == "201 Created"), "{statuses:?}");
    let entry = bundle["entry"].as_array().expect("entries").last().cloned();
    let issue = &entry.expect("last")["response"]["outcome"]["issue"][0];
    assert_eq!(issue["code"], "too-long");
    assert!(
        issue["diagnostics"]
            .as_str()
            .unwrap_or("")
            .starts_with("request: the body exceeds ingest.max_bytes (65536 bytes)"),
        "{issue}"
    );
    // Everything answered is stored, nothing else.
    assert_eq!(
        count(&gw, "subject=Patient/p1").await,
        readings.len() as u64
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_before_any_reading_answers_413() {
    // The limit falls inside the first record.
    let config = format!("{}ingest:\n  max_bytes: 200B\n", store_config(""));
    let gw = Gateway::start(&config);
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let token = patient_token(&gw, "p1", "launch/patient patient/Observation.c");
    let parts = vec![format!("{HEAD}{}{TAIL}", records(0..50, "count/min")).into_bytes()];
    let (answer, gw) = tokio::task::spawn_blocking(move || {
        let a = raw_post(
            &gw,
            "/Patient/p1/$ingest?format=healthkit",
            &token,
            Send::Chunked(parts, false),
        );
        (a, gw)
    })
    .await
    .expect("join");
    assert_eq!(answer.status, 413);
    let oo: Value = serde_json::from_slice(&answer.body).expect("json");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["code"], "too-long");
    assert_eq!(count(&gw, "subject=Patient/p1").await, 0);
}

#[tokio::test]
async fn mapper_warnings_are_in_the_batch_response() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    let client = authed(&patient_token(
        &gw,
        "p1",
        "launch/patient patient/Observation.c",
    ));
    let post = |query: &str, rel: &str| {
        let media = if query.contains("healthkit") {
            "application/xml"
        } else {
            "application/json"
        };
        client
            .post(gw.fhir(&format!("/Patient/p1/$ingest?{query}")))
            .header("content-type", media)
            .body(
                std::fs::read(repo_root().join("tests/fixtures/wearables").join(rel))
                    .expect("fixture"),
            )
            .send()
    };
    // Fitbit without a zone: every reading says its time was kept at date precision.
    let r = post("format=fitbit", "fitbit/fitbit-webapi-body-log-weight.json")
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let bundle: Value = r.json().await.expect("json");
    assert_eq!(statuses(&bundle), vec!["201 Created"; 4], "{bundle}");
    for (i, entry) in bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .enumerate()
    {
        let issue = &entry["response"]["outcome"]["issue"][0];
        assert_eq!(issue["severity"], "warning", "{entry}");
        assert_eq!(issue["code"], "informational");
        assert_eq!(
            issue["diagnostics"],
            format!(
                "reading {}: fitbit times have no offset and no time zone was given: times kept at date precision",
                i + 1
            )
        );
        assert!(entry["response"]["location"].is_string());
    }
    // HealthKit: what was not mapped is said once, after the readings.
    let r = post(
        "format=healthkit",
        "apple-healthkit/fhirgate-export-vitals.xml",
    )
    .await
    .expect("send");
    let bundle: Value = r.json().await.expect("json");
    let mut expected = vec!["201 Created"; 8];
    expected.push("200 OK");
    assert_eq!(statuses(&bundle), expected, "{bundle}");
    let last = &bundle["entry"][8]["response"];
    assert!(last.get("location").is_none());
    let issue = &last["outcome"]["issue"][0];
    assert_eq!(issue["severity"], "warning");
    assert_eq!(
        issue["diagnostics"],
        "request: healthkit elements not mapped (outside the mapped measures): ExportDate ×1, HKCategoryTypeIdentifierSleepAnalysis HKCategoryValueSleepAnalysisInBed ×1, HKQuantityTypeIdentifierActiveEnergyBurned ×1, Me ×1"
    );
    assert!(bundle["entry"][0]["response"].get("outcome").is_none());
}

#[tokio::test]
async fn the_same_reading_is_stored_once_per_patient() {
    let gw = Gateway::start(&store_config(""));
    gw.put_patient("p1").await;
    gw.put_patient("p2").await;
    // Patient read too: $ingest tells whether its subject exists only to a caller who may
    // read it (or has it as launch context).
    let client = authed(&gw.token("system/Observation.crs system/Patient.r"));
    let body = std::fs::read(
        repo_root().join("tests/fixtures/wearables/openmhealth/omh-data-point-1.0-envelope.json"),
    )
    .expect("fixture");
    let mut locations = Vec::new();
    for (patient, status) in [
        ("p1", "201 Created"),
        ("p2", "201 Created"),
        ("p2", "200 OK"),
    ] {
        let bundle: Value = client
            .post(gw.fhir(&format!("/Patient/{patient}/$ingest?format=omh")))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(statuses(&bundle), vec![status], "{patient}: {bundle}");
        locations.push(bundle["entry"][0]["response"]["location"].clone());
    }
    assert_ne!(locations[0], locations[1], "p2's reading is its own");
    assert_eq!(
        locations[1], locations[2],
        "p2's re-send finds p2's reading"
    );
    let id = "identifier=https://w3id.org/openmhealth/data-point-id|123e4567-e89b-12d3-a456-426655440000";
    assert_eq!(count(&gw, id).await, 2);
    assert_eq!(count(&gw, &format!("{id}&subject=Patient/p2")).await, 1);
}
