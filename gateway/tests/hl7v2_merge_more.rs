//! More inbound HL7 v2 merge cases (see `hl7v2_update_merge.rs`), through the MLLP listener
//! of the real binary and the embedded store: an A08 without PV1-19 writes no Encounter;
//! an A08 merges `Encounter.participant` per PV1 field (HL7 v2.5.1 §3.4.3 PV1-7/8/9/17)
//! and keeps a participant a FHIR client added.

mod hl7v2_support;
mod support;

use hl7v2_support::derive::{PID, a08, pv1, with_pv1};
use hl7v2_support::{field, get, listener_addr, merge_config, put, search, send};
use serde_json::{Value, json};
use support::{Gateway, free_port};

#[tokio::test]
async fn an_a08_without_a_visit_number_updates_the_patient_and_creates_no_encounter() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    // The A08 fixture's PV1 has no PV1-19: twice, with PID-7 corrected the second time.
    let first = a08(PID, "8899-70");
    let second = a08(&PID.replace("|19990723|", "|19990724|"), "8899-71");
    for message in [first, second] {
        assert_eq!(
            field(&send(&addr, message.as_bytes()).await, "MSA", 1),
            "AA"
        );
    }
    let patients = search(&gw, "/Patient?identifier=151").await;
    assert_eq!(patients.len(), 1, "{patients:?}");
    assert_eq!(
        patients[0]["birthDate"], "1999-07-24",
        "the second A08 merged"
    );
    let id = patients[0]["id"].as_str().expect("id");
    let encounters = search(&gw, &format!("/Encounter?subject=Patient/{id}")).await;
    assert_eq!(encounters, Vec::<Value>::new());
}

#[tokio::test]
async fn an_a08_merges_encounter_participants_per_pv1_field() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let fixture = a08(PID, "8899-80");
    // The fixture's PV1-7 attending; PV1-8 referring from the SIU fixture's PV1-9.
    let attending = field(&fixture, "PV1", 7);
    let referring = "REFER1^Referrer, M.D.^Robin^N^^^^^&X00003&UPIN";
    let visit = "V-7^^^GEN&2.16.840.1.113883.19.6&ISO";
    let admit = pv1(&[
        (1, "1"),
        (2, "I"),
        (7, &attending),
        (8, referring),
        (19, visit),
    ]);
    let a01 = with_pv1(&fixture.replace("ADT^A08", "ADT^A01"), &admit);
    assert_eq!(field(&send(&addr, a01.as_bytes()).await, "MSA", 1), "AA");
    let mut enc = search(&gw, "/Encounter?identifier=V-7").await[0].clone();
    let id = enc["id"].as_str().expect("id").to_owned();
    let before = enc["participant"]
        .as_array()
        .cloned()
        .expect("participants");
    assert_eq!(before.len(), 2, "ATND, REF: {before:?}");
    assert_eq!(before[1]["type"][0]["coding"][0]["code"], "REF");
    // A FHIR client adds a primary performer and a period on the attending.
    let performer = json!({"type": [{"coding": [{"system":
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PPRF"}]}],
        "individual": {"reference": "Practitioner/pprf-1"}});
    enc["participant"][0]["period"] = json!({"start": "2019-04-23T08:00:00-04:00"});
    enc["participant"]
        .as_array_mut()
        .expect("array")
        .push(performer.clone());
    assert_eq!(put(&gw, &format!("/Encounter/{id}"), &enc).await.0, 200);
    // The A08: PV1-7 the same attending, PV1-8 empty.
    let update = pv1(&[(1, "1"), (7, &attending), (19, visit)]);
    let first = with_pv1(&a08(PID, "8899-81"), &update);
    assert_eq!(field(&send(&addr, first.as_bytes()).await, "MSA", 1), "AA");
    let (_, e): (u16, Value) = get(&gw, &format!("/Encounter/{id}")).await;
    assert_eq!(e["meta"]["versionId"], "3", "{e}");
    let mut attending_kept = before[0].clone();
    attending_kept["period"] = json!({"start": "2019-04-23T08:00:00-04:00"});
    assert_eq!(
        e["participant"],
        json!([attending_kept, before[1], performer]),
        "the attending updated in place (period kept), PV1-8 empty: referrer kept, PPRF kept"
    );
    // Another A08: PV1-8 sent as "" (delete), PV1-7 empty.
    let delete = pv1(&[(1, "1"), (8, "\"\""), (19, visit)]);
    let second = with_pv1(&a08(PID, "8899-82"), &delete);
    assert_eq!(field(&send(&addr, second.as_bytes()).await, "MSA", 1), "AA");
    let (_, e): (u16, Value) = get(&gw, &format!("/Encounter/{id}")).await;
    assert_eq!(
        e["participant"],
        json!([attending_kept, performer]),
        "PV1-8 \"\": the referring doctor removed, nothing else"
    );
    assert_eq!(search(&gw, "/Encounter?identifier=V-7").await.len(), 1);
}
