//! The `hl7v2` adapter end to end (issue 9 items 2–3), through the real binary with the
//! embedded store: an Appointment created over FHIR reaches an MLLP peer started by the test
//! as SIU^S12 and is ACKed; with the peer down it is delivered once when the peer comes up;
//! inbound SIU^S12 fixtures become Appointments readable over FHIR after an AA, a repeat is
//! ACKed again without a second write, and garbage or a refused write is answered AR/AE with
//! nothing half-written.

mod hl7v2_support;
mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hl7v2_support::{field, frame, listener_addr, read_frame, search, send, wait_for};
use serde_json::{Value, json};
use support::{Gateway, auth_section, fixture, free_port};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn config(peer_port: u16) -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\n  ehr-v2:\n    kind: hl7v2\n    store: store\n    send:\n      host: 127.0.0.1\n      port: {peer_port}\n      connect_timeout_ms: 500\n      ack_timeout_ms: 3000\n    listen:\n      address: 127.0.0.1:0\n    timezone: America/New_York\n    receiving_application: TESTEHR\n    retry:\n      initial_ms: 100\n      max_ms: 400\nroutes:\n  - resources: [Appointment, Encounter]\n    interactions: [create, update]\n    adapters: [store, ehr-v2]\n  - resources: [\"*\"]\n    interactions: [\"*\"]\n    adapters: [store]\n"
    )
}

/// An MLLP peer ACKing every message AA; returns what it received.
async fn peer(listener: TcpListener) -> Arc<Mutex<Vec<String>>> {
    scripted_peer(listener, &[]).await
}

/// An MLLP peer answering the n-th message with `codes[n]` (AA once they run out).
async fn scripted_peer(listener: TcpListener, codes: &[&str]) -> Arc<Mutex<Vec<String>>> {
    let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (seen, codes) = (seen.clone(), codes.clone());
            tokio::spawn(async move {
                while let Some(m) = read_frame(&mut s).await {
                    let text = String::from_utf8_lossy(&m).into_owned();
                    let cid = field(&text, "MSH", 10);
                    let code = {
                        let mut seen = seen.lock().expect("lock");
                        seen.push(text);
                        codes.get(seen.len() - 1).cloned().unwrap_or("AA".into())
                    };
                    let ack = format!(
                        "MSH|^~\\&|TESTEHR||FHIRGATE||20260101120000||ACK^S12^ACK|A{cid}|P|2.5.1\rMSA|{code}|{cid}\r"
                    );
                    let _ = s.write_all(&frame(ack.as_bytes())).await;
                }
            });
        }
    });
    got
}

async fn put(client: &reqwest::Client, gw: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    let r = client
        .put(gw.fhir(path))
        .header("content-type", "application/fhir+json")
        .json(body)
        .send()
        .await
        .expect("put");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn seed_and_book(gw: &Gateway, tag: &str) -> (u16, Value) {
    let client = gw.system_client();
    let patient = json!({"resourceType": "Patient", "id": format!("p-{tag}"),
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": format!("MRN-{tag}")}],
        "name": [{"family": "Everyman", "given": ["Adam"]}], "gender": "male", "birthDate": "1980-01-02"});
    assert_eq!(
        put(&client, gw, &format!("/Patient/p-{tag}"), &patient)
            .await
            .0,
        201
    );
    let doc = json!({"resourceType": "Practitioner", "id": format!("d-{tag}"),
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        "name": [{"family": "Careful", "given": ["Carla"]}]});
    assert_eq!(
        put(&client, gw, &format!("/Practitioner/d-{tag}"), &doc)
            .await
            .0,
        201
    );
    let appt = json!({"resourceType": "Appointment", "status": "booked",
        "appointmentType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "ROUTINE"}]},
        "start": "2026-12-01T09:30:00-05:00", "end": "2026-12-01T09:50:00-05:00",
        "participant": [
            {"actor": {"reference": format!("Patient/p-{tag}")}, "status": "accepted"},
            {"actor": {"reference": format!("Practitioner/d-{tag}")}, "status": "accepted"}]});
    let r = client
        .post(gw.fhir("/Appointment"))
        .header("content-type", "application/fhir+json")
        .json(&appt)
        .send()
        .await
        .expect("post");
    (r.status().as_u16(), r.json().await.expect("json"))
}

#[tokio::test]
async fn an_appointment_created_over_fhir_reaches_the_peer_as_siu_s12() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("test step");
    let port = listener.local_addr().expect("test step").port();
    let got = peer(listener).await;
    let gw = Gateway::start(&config(port));
    let (status, created) = seed_and_book(&gw, "a1").await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let msgs = wait_for(&got, 1, 15).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let m = &msgs[0];
    assert_eq!(field(m, "MSH", 9), "SIU^S12^SIU_S12");
    assert_eq!(field(m, "MSH", 12), "2.5.1");
    assert_eq!(field(m, "MSH", 5), "TESTEHR");
    assert!(
        field(m, "SCH", 1).starts_with(&id),
        "SCH-1 placer id: {m:?}"
    );
    assert_eq!(field(m, "SCH", 25).split('^').next(), Some("Booked"));
    assert_eq!(field(m, "TQ1", 7), "20261201093000-0500");
    assert!(
        field(m, "PID", 3).starts_with("MRN-a1^"),
        "PID-3: {}",
        field(m, "PID", 3)
    );
    assert!(
        field(m, "AIP", 3).starts_with("1234567893^Careful^Carla"),
        "{m:?}"
    );
    // Delivered once: no second copy after the ACK.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(got.lock().expect("lock").len(), 1);
    assert!(
        gw.logs()
            .iter()
            .any(|l| l.contains("HL7 v2 message delivered")),
        "delivery logged"
    );
}

#[tokio::test]
async fn with_the_peer_down_the_message_is_delivered_once_when_it_returns() {
    let port = free_port();
    let gw = Gateway::start(&config(port));
    let (status, created) = seed_and_book(&gw, "b1").await;
    assert_eq!(status, 201, "the store's answer is the client's: {created}");
    tokio::time::sleep(Duration::from_secs(2)).await; // several failed attempts
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("test step");
    let got = peer(listener).await;
    let msgs = wait_for(&got, 1, 20).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let msgs: Vec<String> = if msgs.is_empty() {
        msgs
    } else {
        got.lock().expect("lock").clone()
    };
    let ids: HashSet<String> = msgs.iter().map(|m| field(m, "MSH", 10)).collect();
    assert_eq!(ids.len(), 1, "one MSH-10 through every retry: {ids:?}");
    assert_eq!(msgs.len(), 1, "delivered once");
}

#[tokio::test]
async fn an_inbound_siu_becomes_an_appointment_once_and_bad_input_writes_nothing() {
    let gw = Gateway::start(&config(free_port()));
    let addr = listener_addr(&gw);
    let siu = fixture("hl7v2/SIU_S12_v2.8_new_appointment.hl7");
    let ack = send(&addr, &siu).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "MSG00012");
    let found = search(&gw, "/Appointment?status=booked").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let a = &found[0];
    assert_eq!(
        a["start"], "2021-09-24T09:30:00+02:15",
        "offset kept exactly"
    );
    assert_eq!(a["end"], "2021-09-24T10:20:00+02:15");
    let patient_ref = a["participant"]
        .as_array()
        .expect("test step")
        .iter()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .find(|r| r.starts_with("Patient/"))
        .expect("patient participant")
        .to_owned();
    let client = gw.system_client();
    let p: Value = client
        .get(gw.fhir(&format!("/{patient_ref}")))
        .send()
        .await
        .expect("test step")
        .json()
        .await
        .expect("test step");
    assert_eq!(p["resourceType"], "Patient", "the reference resolves: {p}");
    assert_eq!(p["name"][0]["family"], "EVERYMAN");

    // The same message again: the same answer, no second Appointment or Patient.
    let patients = search(&gw, "/Patient?_count=500").await.len();
    let again = send(&addr, &siu).await;
    assert_eq!(field(&again, "MSA", 1), "AA");
    assert_eq!(
        field(&again, "MSH", 10),
        field(&ack, "MSH", 10),
        "the recorded ACK"
    );
    assert_eq!(search(&gw, "/Appointment").await.len(), 1);
    assert_eq!(search(&gw, "/Patient?_count=500").await.len(), patients);

    // Garbage: AR.
    let garbage = send(&addr, b"this is not HL7").await;
    assert_eq!(field(&garbage, "MSA", 1), "AR", "{garbage}");

    // A refused write: a copy of the message (new MSH-10 and appointment ids) whose
    // patient now matches two stored Patients, so its conditional create is refused and
    // the transaction writes nothing, not even the Appointment it would create.
    let mut twin = p.clone();
    twin["id"] = json!("twin");
    twin.as_object_mut().expect("test step").remove("meta");
    assert_eq!(put(&client, &gw, "/Patient/twin", &twin).await.0, 201);
    let text = String::from_utf8(siu.clone()).expect("test step");
    let copy = text
        .replace("|MSG00012|", "|MSG00013|")
        .replace("SCH|12345|36996|", "SCH|54321|69963|");
    let before = search(&gw, "/Appointment").await.len();
    let refused = send(&addr, copy.as_bytes()).await;
    assert_eq!(field(&refused, "MSA", 1), "AE", "{refused}");
    assert_eq!(field(&refused, "MSA", 2), "MSG00013");
    assert!(!field(&refused, "MSA", 3).is_empty(), "MSA-3 says why");
    assert!(refused.contains("\rERR|"), "{refused}");
    assert_eq!(
        search(&gw, "/Appointment").await.len(),
        before,
        "no Appointment half-written"
    );
    assert_eq!(search(&gw, "/Appointment?identifier=54321").await.len(), 0);
}

/// The python of `target/venv-hl7-mllp` with PyPI `hl7` 0.4.5 (its `mllp_send` client),
/// created on first use (serialised by a lock file; needs PyPI).
fn hl7_venv() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("target"));
    std::fs::create_dir_all(&target).expect("target dir");
    let venv = target.join("venv-hl7-mllp");
    let lock = std::fs::File::create(target.join("venv-hl7-mllp.lock")).expect("lock file");
    lock.lock().expect("lock");
    if !venv.join(".ready").exists() {
        let run = |cmd: &mut std::process::Command| {
            assert!(cmd.status().expect("run").success(), "{cmd:?} failed");
        };
        run(std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv));
        run(std::process::Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "hl7==0.4.5",
        ]));
        std::fs::write(venv.join(".ready"), b"ok").expect("marker");
    }
    venv
}

#[tokio::test]
async fn pypi_hl7_mllp_send_gets_aa_and_the_appointment_is_readable() {
    let venv = hl7_venv();
    let gw = Gateway::start(&config(free_port()));
    let addr = listener_addr(&gw);
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let file = support::repo_root().join("tests/fixtures/hl7v2/SIU_S12_v2.3_office_visit.hl7");
    let out = tokio::process::Command::new(venv.join("bin/mllp_send"))
        .args(["--loose", "--port", port, "--file"])
        .arg(&file)
        .arg(host)
        .output()
        .await
        .expect("mllp_send");
    let stdout = String::from_utf8_lossy(&out.stdout).replace('\n', "\r");
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(field(&stdout, "MSA", 1), "AA", "{stdout}");
    assert_eq!(field(&stdout, "MSA", 2), "8907-45");
    let found = search(&gw, "/Appointment?identifier=1209").await;
    assert_eq!(found.len(), 1, "{found:?}");
    // SCH-11 start 20190423140000 has no offset: the adapter's America/New_York applies.
    assert_eq!(found[0]["start"], "2019-04-23T14:00:00-04:00");
    assert_eq!(found[0]["end"], "2019-04-23T14:15:00-04:00");
}

#[tokio::test]
async fn ack_ar_is_retried_with_the_same_control_id_and_ae_is_not() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("test step");
    let port = listener.local_addr().expect("test step").port();
    // First message: AR, then AA on its retry. Second message: AE (refused for good).
    let got = scripted_peer(listener, &["AR", "AA", "AE"]).await;
    let gw = Gateway::start(&config(port));
    assert_eq!(seed_and_book(&gw, "c1").await.0, 201);
    let msgs = wait_for(&got, 2, 15).await;
    assert_eq!(msgs.len(), 2, "AR then the retry: {msgs:?}");
    assert_eq!(field(&msgs[0], "MSH", 10), field(&msgs[1], "MSH", 10));
    assert_eq!(msgs[0], msgs[1], "the retry is the same message");
    assert_eq!(seed_and_book(&gw, "c2").await.0, 201);
    let msgs = wait_for(&got, 3, 15).await;
    assert_eq!(msgs.len(), 3);
    assert_ne!(field(&msgs[2], "MSH", 10), field(&msgs[0], "MSH", 10));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(got.lock().expect("lock").len(), 3, "AE is not retried");
    let logs = gw.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("message refused by receiver")
                && l.contains(&field(&msgs[2], "MSH", 10))),
        "the refusal is logged with its control id"
    );
}

#[tokio::test]
async fn an_inbound_s14_updates_the_appointment_of_the_s12() {
    let gw = Gateway::start(&config(free_port()));
    let addr = listener_addr(&gw);
    let s12 = String::from_utf8(fixture("hl7v2/SIU_S12_v2.3_office_visit.hl7")).expect("utf-8");
    assert_eq!(field(&send(&addr, s12.as_bytes()).await, "MSA", 1), "AA");
    let first = search(&gw, "/Appointment?identifier=1209").await;
    assert_eq!(first.len(), 1, "{first:?}");
    // The same appointment modified (S14, v2.3 ch. 10): new control id, 30 minutes.
    let s14 = s12
        .replace("SIU^S12", "SIU^S14")
        .replace("|8907-45|", "|8907-46|")
        .replace(
            "^^15^20190423140000^20190423141500",
            "^^30^20190423140000^20190423143000",
        );
    let ack = send(&addr, s14.as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let after = search(&gw, "/Appointment?identifier=1209").await;
    assert_eq!(after.len(), 1, "updated, not created again: {after:?}");
    assert_eq!(after[0]["id"], first[0]["id"]);
    assert_ne!(after[0]["meta"]["versionId"], first[0]["meta"]["versionId"]);
    assert_eq!(first[0]["end"], "2019-04-23T14:15:00-04:00");
    assert_eq!(
        after[0]["end"], "2019-04-23T14:30:00-04:00",
        "the S14's values"
    );
}
