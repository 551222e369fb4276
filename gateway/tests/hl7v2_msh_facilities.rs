//! MSH-3 to MSH-6 of the `hl7v2` adapter (HL7 v2.5.1 §2.14.9, HD §2.A.33), end to end: the
//! configured sending and receiving facilities are written to MSH-4 and MSH-6 of outbound
//! SIU messages; an inbound message's ACK swaps its sender and receiver, facilities with
//! their universal ids included; inbound dedupe keys on MSH-10 per MSH-3 + MSH-4 (the same
//! control id from another facility is a new message); `check-config` refuses a facility that
//! would inject a delimiter or a segment terminator, naming its key path.

mod hl7v2_support;
mod support;

use hl7v2_support::{field, listener_addr, peer, put, search, send, wait_for};
use serde_json::json;
use support::{Gateway, auth_section, fixture, free_port, run_cli};
use tokio::net::TcpListener;

fn config(peer_port: u16, msh: &str) -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\n  ehr-v2:\n    kind: hl7v2\n    store: store\n    send:\n      host: 127.0.0.1\n      port: {peer_port}\n      connect_timeout_ms: 500\n      ack_timeout_ms: 3000\n    listen:\n      address: 127.0.0.1:0\n    timezone: America/New_York\n{msh}    retry:\n      initial_ms: 100\n      max_ms: 400\nroutes:\n  - resources: [Appointment, Encounter]\n    interactions: [create, update]\n    adapters: [store, ehr-v2]\n  - resources: [\"*\"]\n    interactions: [\"*\"]\n    adapters: [store]\n"
    )
}

const FACILITIES: &str = "    sending_application: FHIRGATE\n    sending_facility: \"GENHOSP^2.16.840.1.113883.19.5^ISO\"\n    receiving_application: TESTEHR\n    receiving_facility: MAINCAMPUS\n";

#[tokio::test]
async fn configured_facilities_are_written_to_msh_4_and_msh_6() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind peer");
    let port = listener.local_addr().expect("peer address").port();
    let got = peer(listener).await;
    let gw = Gateway::start(&config(port, FACILITIES));
    let patient = json!({"resourceType": "Patient", "id": "p-f1",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-f1"}],
        "name": [{"family": "Everyman", "given": ["Adam"]}], "gender": "male"});
    assert_eq!(put(&gw, "/Patient/p-f1", &patient).await.0, 201);
    let appt = json!({"resourceType": "Appointment", "status": "booked",
        "start": "2026-12-01T09:30:00-05:00", "end": "2026-12-01T09:50:00-05:00",
        "participant": [{"actor": {"reference": "Patient/p-f1"}, "status": "accepted"}]});
    let r = gw
        .system_client()
        .post(gw.fhir("/Appointment"))
        .header("content-type", "application/fhir+json")
        .json(&appt)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 201);
    let msgs = wait_for(&got, 1, 15).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let m = &msgs[0];
    assert_eq!(field(m, "MSH", 3), "FHIRGATE");
    assert_eq!(field(m, "MSH", 4), "GENHOSP^2.16.840.1.113883.19.5^ISO");
    assert_eq!(field(m, "MSH", 5), "TESTEHR");
    assert_eq!(field(m, "MSH", 6), "MAINCAMPUS");
    assert_eq!(field(m, "MSH", 9), "SIU^S12^SIU_S12");
    // SCH-16/SCH-20 (XCN) name the sending application's namespace id only.
    assert_eq!(field(m, "SCH", 16), "FHIRGATE");
}

#[tokio::test]
async fn the_ack_swaps_sender_and_receiver_and_dedupe_keys_on_the_sending_facility() {
    let gw = Gateway::start(&config(free_port(), FACILITIES));
    let addr = listener_addr(&gw);
    let siu = String::from_utf8(fixture("hl7v2/SIU_S12_v2.8_new_appointment.hl7")).expect("utf-8");
    let ack = send(&addr, siu.as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    // The fixture: MSH-3 SCHApp, MSH-4 GHHSFacility^…30^ISO, MSH-5 EHRApp^1.Aux^ISO,
    // MSH-6 GHHRFacility^…32^ISO. The ACK goes back from receiver to sender.
    assert_eq!(field(&ack, "MSH", 3), "EHRApp^1.Aux^ISO");
    assert_eq!(
        field(&ack, "MSH", 4),
        "GHHRFacility^2.16.840.1.1122848.1.32^ISO"
    );
    assert_eq!(field(&ack, "MSH", 5), "SCHApp");
    assert_eq!(
        field(&ack, "MSH", 6),
        "GHHSFacility^2.16.840.1.122848.1.30^ISO"
    );
    // The same MSH-10 from the same MSH-3/MSH-4: the recorded ACK, byte for byte.
    assert_eq!(send(&addr, siu.as_bytes()).await, ack);
    // The same MSH-10 from another sending facility is another message: a new ACK.
    let other = siu.replace(
        "|GHHSFacility^2.16.840.1.122848.1.30^ISO|",
        "|GHHSClinic^2.16.840.1.122848.1.31^ISO|",
    );
    assert_ne!(other, siu);
    let other_ack = send(&addr, other.as_bytes()).await;
    assert_eq!(field(&other_ack, "MSA", 1), "AA", "{other_ack}");
    assert_eq!(field(&other_ack, "MSA", 2), "MSG00012");
    assert_ne!(field(&other_ack, "MSH", 10), field(&ack, "MSH", 10));
    assert_eq!(
        field(&other_ack, "MSH", 6),
        "GHHSClinic^2.16.840.1.122848.1.31^ISO"
    );
    let repeats = gw
        .logs()
        .iter()
        .filter(|l| l.contains("repeated HL7 v2 message"))
        .count();
    assert_eq!(repeats, 1, "only the same-facility repeat is a repeat");
    // It was written: SCH-1/SCH-2 carry no assigning authority, so an S12 is a plain create
    // and the other facility's message made its own Appointment (the repeat did not).
    let found = search(&gw, "/Appointment?status=booked").await;
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn check_config_refuses_facilities_that_would_inject_delimiters() {
    let dir = tempfile::tempdir().expect("tmp");
    let msh = "    sending_facility: \"GEN|HOSP\"\n    receiving_facility: \"LAB^1.2.3\"\n    receiving_application: \"EHR\\rMSH\"\n";
    let text = config(2575, msh);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).expect("line") + 1;
    std::fs::write(dir.path().join("g.yaml"), &text).expect("write");
    let (code, _, stderr) = run_cli(&["check-config", "--config", "g.yaml"], dir.path());
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "g.yaml:{}: adapters.ehr-v2.sending_facility: must not contain |, ~, & or \\ (HL7 v2 delimiters) or control characters such as CR (the segment terminator); components are separated by ^",
                line_of("sending_facility")
            ),
            format!(
                "g.yaml:{}: adapters.ehr-v2.receiving_application: must not contain |, ~, & or \\ (HL7 v2 delimiters) or control characters such as CR (the segment terminator); components are separated by ^",
                line_of("receiving_application")
            ),
            format!(
                "g.yaml:{}: adapters.ehr-v2.receiving_facility: the universal id (HD-2) and its type (HD-3) must both be given or both be left out",
                line_of("receiving_facility")
            ),
        ]
    );
}
