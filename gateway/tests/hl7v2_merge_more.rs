//! More inbound HL7 v2 merge cases (see `hl7v2_update_merge.rs`), through the MLLP listener
//! of the real binary and the embedded store: an A08 without PV1-19 writes no Encounter;
//! an A08 merges `Encounter.participant` per PV1 field (HL7 v2.5.1 §3.4.3 PV1-7/8/9/17)
//! and keeps a participant a FHIR client added; an SIU update without SCH-1/SCH-2 is
//! refused (AE) and writes nothing, an S12 without them still creates its Appointment.

mod hl7v2_support;
mod support;

use hl7v2_support::derive::{PID, a08, pv1, text, with_pv1};
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
    // A third A08: PV1-7 names another attending (the SIU fixture's PV1-7). PV1-7 is the
    // current attending (snapshot): the one the A01 gave is replaced, not kept beside it.
    let other = "ATTEND1^Attending^Casey^S^phd^^^^&X00002&UPIN";
    let change = pv1(&[(1, "1"), (7, other), (19, visit)]);
    let third = with_pv1(&a08(PID, "8899-83"), &change);
    assert_eq!(field(&send(&addr, third.as_bytes()).await, "MSA", 1), "AA");
    let (_, e): (u16, Value) = get(&gw, &format!("/Encounter/{id}")).await;
    let list = e["participant"].as_array().expect("participants");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0], performer, "a FHIR client's: kept");
    assert_eq!(list[1]["type"][0]["coding"][0]["code"], "ATND");
    assert_eq!(list[1]["individual"]["display"], "Casey S Attending phd");
    assert_eq!(search(&gw, "/Encounter?identifier=V-7").await.len(), 1);
}

#[tokio::test]
async fn an_siu_update_without_appointment_ids_is_refused_and_writes_nothing() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    // The SIU fixture with SCH-1 (1209) and SCH-2 (13030) emptied, as v2.5.1 (ERR-8 text).
    let s12 = text("hl7v2/SIU_S12_v2.3_office_visit.hl7")
        .replace("SCH|1209|13030|", "SCH|||")
        .replace("|P|2.3|", "|P|2.5.1|");
    let s14 = |control_id: &str| {
        s12.replace("SIU^S12", "SIU^S14")
            .replace("|8907-45|", &format!("|{control_id}|"))
    };
    let why = "SCH-1 (placer appointment ID) or SCH-2 (filler appointment ID) is required \
               for an update event (S14): the message does not identify an appointment";
    let ack = send(&addr, s14("8907-90").as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AE", "{ack}");
    assert_eq!(field(&ack, "MSA", 2), "8907-90");
    assert_eq!(field(&ack, "MSA", 3), why);
    assert_eq!(
        field(&ack, "ERR", 3),
        "207^Application internal error^HL70357"
    );
    assert_eq!(field(&ack, "ERR", 4), "E");
    assert_eq!(field(&ack, "ERR", 8), why);
    assert_eq!(search(&gw, "/Appointment").await, Vec::<Value>::new());
    assert_eq!(
        search(&gw, "/Patient?identifier=150").await,
        Vec::<Value>::new()
    );
    // An S12 without ids still books its Appointment; a later S14 without ids adds none.
    assert_eq!(field(&send(&addr, s12.as_bytes()).await, "MSA", 1), "AA");
    let booked = search(&gw, "/Appointment").await;
    assert_eq!(booked.len(), 1, "{booked:?}");
    let ack = send(&addr, s14("8907-91").as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AE", "{ack}");
    let after = search(&gw, "/Appointment").await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        after[0]["meta"]["versionId"],
        booked[0]["meta"]["versionId"]
    );
}
