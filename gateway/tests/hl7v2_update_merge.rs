//! Inbound HL7 v2 updates merge into the stored resource (HL7 v2.5.1 §2.5.3, ADT A08
//! snapshot semantics), through the MLLP listener of the real binary and the embedded store:
//! a Patient written over FHIR keeps the elements an ADT^A08 does not carry (a telecom, a
//! communication, an identifier a FHIR client added); a field present in the A08 replaces its
//! element; a field sent as `""` removes it. An Encounter updated by A08 keeps its class and
//! status when PV1-2 and PV1-45 are empty; an A31 without PV1 (the Patient is the focus)
//! merges too; an S14 without SCH-25 keeps the stored Appointment.status. FHIR updates
//! racing A08s are never lost (the merge writes with `If-Match`). PID-13 and PID-14 each
//! replace only their own telecoms; an S14 keeps participants it does not carry; the
//! Patient of an S12 or A04 merges too. More cases: `hl7v2_merge_more.rs`.

mod hl7v2_support;
mod support;

use hl7v2_support::derive::{PID, a08, pv1, set_field, text, with_pv1, without};
use hl7v2_support::{field, get, listener_addr, merge_config, put, search, send};
use serde_json::{Value, json};
use support::{Gateway, free_port};

#[tokio::test]
async fn an_a08_merges_into_the_patient_a_fhir_client_extended() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let client_id = json!({"system": "urn:oid:2.16.840.1.113883.19.5.99", "value": "CLIENT-7"});
    let email = json!([{"system": "email", "value": "tiny@example.org", "use": "home"}]);
    let communication =
        json!([{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-GB"}]}}]);
    let patient = json!({"resourceType": "Patient", "id": "p-bond",
        "identifier": [{"value": "151"}, client_id],
        "name": [{"family": "Bond", "given": ["Tiny"]}],
        "telecom": email, "communication": communication,
        "gender": "male", "birthDate": "1999-07-23"});
    assert_eq!(put(&gw, "/Patient/p-bond", &patient).await.0, 201);
    // The same value under another assigning authority is another patient: never merged.
    let other = json!({"resourceType": "Patient", "id": "p-other",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.7", "value": "151"}],
        "name": [{"family": "Other"}]});
    assert_eq!(put(&gw, "/Patient/p-other", &other).await.0, 201);

    // The fixture as sent: PID-13/14 (telecom) empty, PID-11 (address) present.
    let ack = send(&addr, a08(PID, "8899-39").as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let found = search(&gw, "/Patient?identifier=151").await;
    assert_eq!(found.len(), 2, "merged, not created again: {found:?}");
    let (status, p) = get(&gw, "/Patient/p-bond").await;
    assert_eq!(status, 200);
    assert_eq!(p["meta"]["versionId"], "2", "{p}");
    assert_eq!(p["telecom"], email, "not in the A08: kept");
    assert_eq!(p["communication"], communication, "not in the A08: kept");
    assert_eq!(p["identifier"], json!([{"value": "151"}, client_id]));
    assert_eq!(p["name"], json!([{"family": "Bond", "given": ["Tiny"]}]));
    assert_eq!(
        p["address"],
        json!([{"line": ["8388 Secret Agent Way"], "city": "Raleigh", "state": "NC", "postalCode": "27677"}]),
        "PID-11 present: written"
    );
    assert_eq!(p["gender"], "male");
    assert_eq!(p["birthDate"], "1999-07-23");

    // A later A08: PID-5 changed (replaced), PID-8 and PID-11 sent as "" (removed).
    let pid = PID
        .replace("|Bond^Tiny|", "|Bond^Timothy^Q|")
        .replace("|M|", "|\"\"|")
        .replace("|8388 Secret Agent Way^^Raleigh^NC^27677|", "|\"\"|");
    let ack = send(&addr, a08(&pid, "8899-40").as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let (_, p) = get(&gw, "/Patient/p-bond").await;
    assert_eq!(p["meta"]["versionId"], "3", "{p}");
    assert_eq!(
        p["name"],
        json!([{"family": "Bond", "given": ["Timothy", "Q"]}])
    );
    assert_eq!(p.get("gender"), None, "PID-8 \"\": removed: {p}");
    assert_eq!(p.get("address"), None, "PID-11 \"\": removed: {p}");
    assert_eq!(p["birthDate"], "1999-07-23");
    assert_eq!(p["telecom"], email);
    assert_eq!(p["communication"], communication);
    assert_eq!(p["identifier"], json!([{"value": "151"}, client_id]));
    let (_, o) = get(&gw, "/Patient/p-other").await;
    assert_eq!(o["meta"]["versionId"], "1", "{o}");
    assert_eq!(o["name"], json!([{"family": "Other"}]));
}

#[tokio::test]
async fn an_a08_keeps_the_encounter_elements_its_empty_fields_do_not_carry() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    // An A01: PV1-2 I (inpatient), PV1-19 visit number V-1 with an authority, admitted
    // (PV1-44) and discharged (PV1-45).
    let visit = "V-1^^^GEN&2.16.840.1.113883.19.6&ISO";
    let admit = pv1(&[
        (1, "1"),
        (2, "I"),
        (19, visit),
        (44, "20190423080000"),
        (45, "20190423113000"),
    ]);
    let a01 = with_pv1(&a08(PID, "8899-41").replace("ADT^A08", "ADT^A01"), &admit);
    assert_eq!(field(&send(&addr, a01.as_bytes()).await, "MSA", 1), "AA");
    let found = search(&gw, "/Encounter?identifier=V-1").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let mut enc = found[0].clone();
    let id = enc["id"].as_str().expect("id").to_owned();
    assert_eq!(enc["status"], "finished");
    assert_eq!(enc["class"]["code"], "IMP");
    // A FHIR client adds a serviceType.
    enc["serviceType"] = json!({"text": "Cardiology"});
    if let Some(o) = enc.as_object_mut() {
        o.remove("meta");
    }
    assert_eq!(put(&gw, &format!("/Encounter/{id}"), &enc).await.0, 200);
    // The A08: PV1-2 and PV1-45 empty, PV1-44 admit time corrected.
    let update = pv1(&[(1, "1"), (19, visit), (44, "20190423080500")]);
    let a08_text = with_pv1(&a08(PID, "8899-42"), &update);
    assert_eq!(
        field(&send(&addr, a08_text.as_bytes()).await, "MSA", 1),
        "AA"
    );
    let (_, e): (u16, Value) = get(&gw, &format!("/Encounter/{id}")).await;
    assert_eq!(e["meta"]["versionId"], "3", "{e}");
    assert_eq!(e["status"], "finished", "PV1-45 empty: kept");
    assert_eq!(e["class"]["code"], "IMP", "PV1-2 empty: kept");
    assert_eq!(e["serviceType"], json!({"text": "Cardiology"}));
    assert_eq!(
        e["period"],
        json!({"start": "2019-04-23T08:05:00-04:00", "end": "2019-04-23T11:30:00-04:00"}),
        "PV1-44 present: replaced; PV1-45 empty: kept"
    );
    assert_eq!(search(&gw, "/Encounter?identifier=V-1").await.len(), 1);
}

#[tokio::test]
async fn fhir_updates_racing_a08s_are_never_lost() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let patient = json!({"resourceType": "Patient", "id": "p-race",
        "identifier": [{"value": "151"}], "name": [{"family": "Bond"}]});
    assert_eq!(put(&gw, "/Patient/p-race", &patient).await.0, 201);
    let rounds = 20;
    // A FHIR client adding one communication per round (read, add, PUT with If-Match,
    // again on 412), while the EHR sends an A08 per round.
    let fhir = async {
        let client = gw.system_client();
        for i in 0..rounds {
            loop {
                let (_, mut p) = get(&gw, "/Patient/p-race").await;
                let version = p["meta"]["versionId"].as_str().expect("version").to_owned();
                let mut list = p["communication"].as_array().cloned().unwrap_or_default();
                list.push(json!({"language": {"text": format!("lang-{i}")}}));
                p["communication"] = json!(list);
                let r = client
                    .put(gw.fhir("/Patient/p-race"))
                    .header("content-type", "application/fhir+json")
                    .header("if-match", format!("W/\"{version}\""))
                    .json(&p)
                    .send()
                    .await
                    .expect("put");
                match r.status().as_u16() {
                    200 => break,
                    412 => continue,
                    other => panic!("FHIR update answered {other}"),
                }
            }
        }
    };
    let v2 = async {
        for i in 0..rounds {
            let pid = PID.replace("|Bond^Tiny|", &format!("|Bond^Tiny{i}|"));
            let message = a08(&pid, &format!("race-{i}"));
            // AR (the Patient kept changing through 3 merges) asks the sender to retry.
            let mut ack = send(&addr, message.as_bytes()).await;
            while field(&ack, "MSA", 1) == "AR" {
                ack = send(&addr, message.as_bytes()).await;
            }
            assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
        }
    };
    tokio::join!(fhir, v2);
    let (_, p) = get(&gw, "/Patient/p-race").await;
    let langs: Vec<String> = p["communication"]
        .as_array()
        .expect("communication")
        .iter()
        .map(|c| {
            c["language"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..rounds).map(|i| format!("lang-{i}")).collect();
    assert_eq!(langs, expected, "every FHIR update kept");
    assert_eq!(
        p["name"],
        json!([{"family": "Bond", "given": [format!("Tiny{}", rounds - 1)]}]),
        "the last A08's name"
    );
    assert_eq!(search(&gw, "/Patient?identifier=151").await.len(), 1);
}

#[tokio::test]
async fn an_s14_without_a_filler_status_keeps_the_stored_status_and_fhir_elements() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let s12 = text("hl7v2/SIU_S12_v2.3_office_visit.hl7");
    assert_eq!(field(&send(&addr, s12.as_bytes()).await, "MSA", 1), "AA");
    let found = search(&gw, "/Appointment?identifier=1209").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let mut a = found[0].clone();
    let id = a["id"].as_str().expect("id").to_owned();
    assert_eq!(a["status"], "booked");
    // The front desk checks the patient in over FHIR and adds an instruction.
    a["status"] = json!("arrived");
    a["patientInstruction"] = json!("Bring your glasses");
    assert_eq!(put(&gw, &format!("/Appointment/{id}"), &a).await.0, 200);
    // The EHR moves the end (S14) without SCH-25 filler status: the status is not carried.
    let s14 = s12
        .replace("SIU^S12", "SIU^S14")
        .replace("|8907-45|", "|8907-46|")
        .replace(
            "^^15^20190423140000^20190423141500",
            "^^30^20190423140000^20190423143000",
        )
        .replace("|Scheduled^^CSI", "|");
    let ack = send(&addr, s14.as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let (_, after) = get(&gw, &format!("/Appointment/{id}")).await;
    assert_eq!(after["meta"]["versionId"], "3", "{after}");
    assert_eq!(after["status"], "arrived", "SCH-25 empty: kept");
    assert_eq!(after["patientInstruction"], "Bring your glasses");
    assert_eq!(after["end"], "2019-04-23T14:30:00-04:00", "the S14's end");
    assert_eq!(search(&gw, "/Appointment?identifier=1209").await.len(), 1);
}

#[tokio::test]
async fn an_a31_without_pv1_merges_into_the_patient_instead_of_replacing_it() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let telecom = json!([{"system": "phone", "value": "+44 20 7946 0007", "use": "mobile"}]);
    let patient = json!({"resourceType": "Patient", "id": "p-a31",
        "identifier": [{"value": "151"}], "name": [{"family": "Bond", "given": ["Tiny"]}],
        "telecom": telecom, "birthDate": "1999-07-23"});
    assert_eq!(put(&gw, "/Patient/p-a31", &patient).await.0, 201);
    // ADT^A31 (update person information), the fixture's segments without PV1: the Patient
    // is the message's focus. PID-7 changed, PID-6 (mother's maiden name, an extension the
    // stored Patient lacks) added, PID-13/14 empty.
    let pid = PID.replace("|Bond^Tiny||19990723|", "|Bond^Tiny|Spy|19990724|");
    let a31 = without(
        &a08(&pid, "8899-43")
            .replace("ADT^A08", "ADT^A31")
            .replace("EVN|A08|", "EVN|A31|"),
        "PV1",
    );
    let ack = send(&addr, a31.as_bytes()).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let (_, p) = get(&gw, "/Patient/p-a31").await;
    assert_eq!(p["meta"]["versionId"], "2", "{p}");
    assert_eq!(p["birthDate"], "1999-07-24", "PID-7 present: replaced");
    assert_eq!(p["telecom"], telecom, "PID-13/14 empty: kept");
    assert_eq!(p["gender"], "male", "PID-8 present: written");
    assert_eq!(
        p["extension"],
        json!([{"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Spy"}])
    );
    assert_eq!(search(&gw, "/Patient?identifier=151").await.len(), 1);
}

#[tokio::test]
async fn an_a08_with_one_phone_field_replaces_only_the_contact_points_of_that_field() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let (work, fhir_email) = (
        json!({"system": "phone", "value": "+1 919 555 0100", "use": "work"}),
        json!({"system": "email", "value": "bond@example.org"}),
    );
    let patient = json!({"resourceType": "Patient", "id": "p-tel",
        "identifier": [{"value": "151"}], "name": [{"family": "Bond"}],
        "telecom": [{"system": "phone", "value": "+1 919 555 0101", "use": "home"}, work,
            {"system": "phone", "value": "+1 919 555 0102", "use": "mobile"}, fhir_email]});
    assert_eq!(put(&gw, "/Patient/p-tel", &patient).await.0, 201);
    // The fixture's GT1-6 (home: a phone, a CP, an X.400 address) and GT1-7 (business)
    // sent as the patient's PID-13 and PID-14, one A08 each.
    let fixture = text("hl7v2/ADT_A08_v2.3_update_patient.hl7");
    let (home, business) = (field(&fixture, "GT1", 6), field(&fixture, "GT1", 7));
    let first = set_field(&a08(PID, "8899-50"), "PID", 13, &home);
    assert_eq!(field(&send(&addr, first.as_bytes()).await, "MSA", 1), "AA");
    let mapped_home = json!([
        {"system": "phone", "value": "(919)007-0007", "use": "home"},
        {"system": "phone", "value": "(777)707-0707", "use": "mobile"},
        {"system": "email", "value": "007@BritishSecretService.com", "use": "home"}]);
    let (_, p) = get(&gw, "/Patient/p-tel").await;
    let mut expected = vec![work.clone(), fhir_email.clone()];
    expected.extend(mapped_home.as_array().expect("array").iter().cloned());
    assert_eq!(
        p["telecom"],
        json!(expected),
        "PID-13 replaces home and mobile (its CP), keeps work and use-less"
    );
    let second = set_field(&a08(PID, "8899-51"), "PID", 14, &business);
    assert_eq!(field(&send(&addr, second.as_bytes()).await, "MSA", 1), "AA");
    let (_, p) = get(&gw, "/Patient/p-tel").await;
    let mut expected = vec![fhir_email];
    expected.extend(mapped_home.as_array().expect("array").iter().cloned());
    expected.push(json!({"system": "phone", "value": "(919)555-0177 X007", "use": "work"}));
    assert_eq!(p["telecom"], json!(expected), "PID-14 replaces work only");
    assert_eq!(p["meta"]["versionId"], "3", "{p}");
}

#[tokio::test]
async fn the_patient_of_an_s12_or_an_a04_is_merged_into_the_stored_one() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let communication = json!([{"language": {"text": "English"}}]);
    let stored = json!({"resourceType": "Patient", "id": "p-150",
        "identifier": [{"value": "150"}], "name": [{"family": "Bond", "given": ["Jim"]}],
        "birthDate": "1977-09-21", "communication": communication});
    assert_eq!(put(&gw, "/Patient/p-150", &stored).await.0, 201);
    // The S12 fixture as sent: PID-3 150, PID-7 19770920, PID-8 M, PID-19 an SSN.
    let s12 = text("hl7v2/SIU_S12_v2.3_office_visit.hl7");
    assert_eq!(field(&send(&addr, s12.as_bytes()).await, "MSA", 1), "AA");
    let (_, p) = get(&gw, "/Patient/p-150").await;
    assert_eq!(p["meta"]["versionId"], "2", "merged: {p}");
    assert_eq!(p["birthDate"], "1977-09-20", "PID-7 replaces");
    assert_eq!(p["gender"], "male", "PID-8 written");
    assert_eq!(
        p["name"][0]["given"],
        json!(["James"]),
        "PID-5 replaces: {p}"
    );
    assert_eq!(p["communication"], communication, "not in PID: kept");
    assert_eq!(
        p["identifier"][1]["system"], "http://hl7.org/fhir/sid/us-ssn",
        "PID-19 added: {p}"
    );
    assert_eq!(search(&gw, "/Patient?identifier=150").await.len(), 1);
    let appointment = &search(&gw, "/Appointment?identifier=1209").await[0];
    assert_eq!(
        appointment["participant"][0]["actor"]["reference"], "Patient/p-150",
        "{appointment}"
    );

    // An A04 (register) built from the A08 fixture, for a patient stored without address.
    let stored = json!({"resourceType": "Patient", "id": "p-151",
        "identifier": [{"value": "151"}], "name": [{"family": "Bond"}]});
    assert_eq!(put(&gw, "/Patient/p-151", &stored).await.0, 201);
    let a04 = a08(PID, "8899-60")
        .replace("ADT^A08", "ADT^A04")
        .replace("EVN|A08|", "EVN|A04|");
    assert_eq!(field(&send(&addr, a04.as_bytes()).await, "MSA", 1), "AA");
    let (_, p) = get(&gw, "/Patient/p-151").await;
    assert_eq!(p["meta"]["versionId"], "2", "merged: {p}");
    assert_eq!(p["name"], json!([{"family": "Bond", "given": ["Tiny"]}]));
    assert_eq!(p["address"][0]["city"], "Raleigh", "PID-11 written: {p}");
    assert_eq!(search(&gw, "/Patient?identifier=151").await.len(), 1);
}

#[tokio::test]
async fn an_s14_merges_participants_and_keeps_one_a_fhir_client_added() {
    let gw = Gateway::start(&merge_config(free_port()));
    let addr = listener_addr(&gw);
    let s12 = text("hl7v2/SIU_S12_v2.3_office_visit.hl7");
    assert_eq!(field(&send(&addr, s12.as_bytes()).await, "MSA", 1), "AA");
    let mut a = search(&gw, "/Appointment?identifier=1209").await[0].clone();
    let id = a["id"].as_str().expect("id").to_owned();
    let before = a["participant"].as_array().cloned().expect("participants");
    assert_eq!(before.len(), 4, "patient, AIG, AIL, AIP: {before:?}");
    // A FHIR client adds an interpreter.
    let interpreter = json!({"actor": {"reference": "Practitioner/interp-1",
        "display": "Interpreter"}, "status": "accepted"});
    a["participant"]
        .as_array_mut()
        .expect("array")
        .push(interpreter.clone());
    assert_eq!(put(&gw, &format!("/Appointment/{id}"), &a).await.0, 200);
    // The S14: the provider deleted from the appointment (AIP-2 segment action code D).
    let s14 = s12
        .replace("SIU^S12", "SIU^S14")
        .replace("|8907-45|", "|8907-47|")
        .replace("AIP|1||", "AIP|1|D|");
    assert_eq!(field(&send(&addr, s14.as_bytes()).await, "MSA", 1), "AA");
    let (_, after) = get(&gw, &format!("/Appointment/{id}")).await;
    let list = after["participant"].as_array().expect("participants");
    assert_eq!(list.len(), 5, "{list:?}");
    assert_eq!(list[0], before[0], "the same patient, once");
    assert_eq!(&list[1..3], &before[1..3], "AIG, AIL unchanged");
    assert_eq!(list[3]["actor"], before[3]["actor"]);
    assert_eq!(list[3]["status"], "declined", "AIP-2 D");
    assert_eq!(list[4], interpreter, "not in the S14: kept");
}
