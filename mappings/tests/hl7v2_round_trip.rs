//! FHIR → HL7 v2 → FHIR: escapes, virtual visits, trigger events, explicit nulls, output
//! versions and Z-segments survive the trip; ids and times are exact.

mod hl7v2_support;

use fhirgate_mappings::hl7v2::{
    self, Context, Outbound, Related, VirtualMarker, WriteOptions, ZSegments,
};
use hl7v2_support::{assert_subset, fhir_fixture, map_bytes, of_type};
use serde_json::{Value, json};

fn opts() -> WriteOptions {
    WriteOptions {
        control_id: Some("CTRL-0001".into()),
        message_time: Some("2024-03-01T12:00:00Z".parse().expect("ts")),
        ..WriteOptions::default()
    }
}

fn segment<'a>(out: &'a Outbound, id: &str) -> Vec<&'a str> {
    out.message
        .split('\r')
        .find(|s| s.starts_with(id))
        .unwrap_or_else(|| panic!("no {id} in {:?}", out.message))
        .split('|')
        .collect()
}

/// The virtual-visit variant of the official Appointment example.
pub fn virtual_appointment() -> Value {
    let mut a = fhir_fixture("appointment-example.json");
    a["extension"] = json!([{
        "url": hl7v2::VIRTUAL_SERVICE,
        "extension": [
            {"url": "channelType", "valueCoding": {"system": "http://hl7.org/fhir/virtual-service-type", "code": "zoom"}},
            {"url": "address", "valueUrl": "https://video.example.org/j/881?pwd=a1&role=patient"},
            {"url": "additionalInfo", "valueUrl": "https://video.example.org/help"},
            {"url": "sessionKey", "valueString": "88 11 ^ 42"}
        ]
    }]);
    a["serviceType"] = json!([{"coding": [{"system": "http://snomed.info/sct", "code": "448337001", "display": "Telemedicine consultation with patient"}]}]);
    a
}

#[test]
fn virtual_appointment_round_trips_through_siu_s12() {
    let patient = fhir_fixture("patient-example.json");
    let practitioner = fhir_fixture("practitioner-example.json");
    let related = Related {
        patient: Some(&patient),
        others: vec![&practitioner],
        ..Related::default()
    };
    let a = virtual_appointment();
    let out = hl7v2::appointment_to_siu(&a, &related, &opts()).expect("siu");
    assert_eq!(out.event, "S12");
    assert_eq!(out.control_id, "CTRL-0001");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(out.message.ends_with('\r') && !out.message.contains('\n'));
    assert_eq!(segment(&out, "MSH")[6], "20240301120000+0000");
    assert_eq!(segment(&out, "MSH")[8], "SIU^S12^SIU_S12");
    assert_eq!(segment(&out, "MSH")[11], "2.5.1");
    assert_eq!(segment(&out, "PV1")[2], "O");
    assert_eq!(segment(&out, "PV1")[18], "VR");
    assert_eq!(segment(&out, "TQ1")[7], "20131210090000+0000");
    assert!(out.message.contains("OBX|2|ST|VS-ADDRESS^Virtual service address^L||https://video.example.org/j/881?pwd=a1\\T\\role=patient||||||F"));
    assert_eq!(
        segment(&out, "AIP")[3],
        "23^Careful^Adam^^^Dr^^^&http://www.acme.org/practitioners&URI"
    );
    assert_eq!(
        segment(&out, "PID")[3],
        "12345^^^Acme Healthcare&1.2.36.146.595.217.0.1&ISO^MR"
    );

    let back = map_bytes(out.message.as_bytes(), None);
    let b = &of_type(&back, "Appointment")[0];
    assert_eq!(
        b["extension"], a["extension"],
        "virtualService survives escapes"
    );
    assert_eq!(b["status"], "booked");
    assert_eq!(b["start"], "2013-12-10T09:00:00+00:00");
    assert_eq!(b["end"], "2013-12-10T11:00:00+00:00");
    assert_eq!(b["minutesDuration"], 120);
    assert_eq!(b["comment"], a["comment"]);
    assert_eq!(b["appointmentType"], a["appointmentType"]);
    assert_eq!(
        b["serviceType"][0]["coding"][0],
        a["serviceType"][0]["coding"][0]
    );
    assert_subset(
        b,
        r#"{"identifier": [{"type": {"coding": [{"code": "PLAC"}]}, "value": "example", "system": "urn:fhirgate:hl7v2:assigning-authority:FHIR"}]}"#,
    );
    let p = &of_type(&back, "Patient")[0];
    assert_eq!(
        p["identifier"][0]["system"],
        "urn:oid:1.2.36.146.595.217.0.1"
    );
    assert_eq!(p["identifier"][0]["value"], "12345");
    assert_eq!(p["birthDate"], "1974-12-25");
    assert_eq!(p["_birthDate"], patient["_birthDate"]);
    assert_eq!(p["name"][0]["family"], "Chalmers");
    assert_eq!(p["name"][0]["given"], json!(["Peter", "James"]));
    assert_eq!(p["gender"], "male");
    assert_eq!(p["address"][0]["city"], "PleasantVille");
    let parts = b["participant"].as_array().expect("participants");
    assert_eq!(parts.len(), 3);
    assert_subset(
        &parts[2],
        r#"{"actor": {"identifier": {"system": "http://www.acme.org/practitioners", "value": "23"}, "display": "Dr Adam Careful"},
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}]}"#,
    );
    assert_subset(
        &parts[1],
        r#"{"actor": {"type": "Location", "display": "South Wing, second floor"}}"#,
    );
}

#[test]
fn escapes_round_trip_through_pid() {
    let patient = json!({
        "resourceType": "Patient", "id": "p1",
        "identifier": [{"system": "urn:oid:1.2.3", "value": "A|B^C~D\\E&F"}],
        "name": [{"family": "O'Brien & Sons | Ltd", "given": ["Ann^Marie", "Jo~Jo"]}],
        "address": [{"line": ["1 Main St\nApt 2"], "city": "Back\\slash"}],
        "birthDate": "1980-02-29", "gender": "female"
    });
    let enc = json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "AMB"}, "subject": {"reference": "Patient/p1"}});
    let related = Related {
        patient: Some(&patient),
        ..Related::default()
    };
    let out = hl7v2::encounter_to_adt(&enc, &related, &opts()).expect("adt");
    assert_eq!(
        segment(&out, "PID")[3],
        "A\\F\\B\\S\\C\\R\\D\\E\\E\\T\\F^^^&1.2.3&ISO"
    );
    let back = map_bytes(out.message.as_bytes(), None);
    let p = &of_type(&back, "Patient")[0];
    assert_eq!(p["identifier"][0]["value"], "A|B^C~D\\E&F");
    assert_eq!(p["name"][0]["family"], "O'Brien & Sons | Ltd");
    assert_eq!(p["name"][0]["given"], json!(["Ann^Marie", "Jo~Jo"]));
    assert_eq!(p["address"][0]["line"][0], "1 Main St\nApt 2");
    assert_eq!(p["address"][0]["city"], "Back\\slash");
    assert_eq!(p["birthDate"], "1980-02-29");
    assert_eq!(p["gender"], "female");
}

#[test]
fn trigger_events_follow_status_or_the_explicit_event() {
    let related = Related::default();
    let mut a = fhir_fixture("appointment-example.json");
    let ev = |a: &Value, event: Option<&str>| {
        let o = WriteOptions {
            event: event.map(str::to_owned),
            ..opts()
        };
        hl7v2::appointment_to_siu(a, &related, &o).map(|m| m.event)
    };
    assert_eq!(ev(&a, None).expect("booked"), "S12");
    assert_eq!(ev(&a, Some("S14")).expect("explicit"), "S14");
    assert!(
        ev(&a, Some("A04")).is_err(),
        "an ADT event for an Appointment"
    );
    a["status"] = json!("noshow");
    assert_eq!(ev(&a, None).expect("noshow"), "S26");
    a["status"] = json!("proposed");
    assert!(ev(&a, None).is_err(), "no default event for proposed");
    a["status"] = json!("cancelled");
    a["cancelationReason"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", "code": "pat", "display": "Patient"}]});
    let o = WriteOptions {
        event: None,
        ..opts()
    };
    let out = hl7v2::appointment_to_siu(&a, &related, &o).expect("S15");
    assert_eq!(out.event, "S15");
    assert_eq!(
        segment(&out, "SCH")[6],
        "pat^Patient^http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
    );
    assert_eq!(segment(&out, "SCH")[25], "Cancelled");
    assert!(
        out.warnings.iter().any(|w| w.contains("not resolved")),
        "{:?}",
        out.warnings
    );
    let back = map_bytes(out.message.as_bytes(), None);
    let b = &of_type(&back, "Appointment")[0];
    assert_eq!(b["status"], "cancelled");
    assert_eq!(b["cancelationReason"]["coding"][0]["code"], "pat");

    let mut e = fhir_fixture("encounter-example.json");
    let p = fhir_fixture("patient-example.json");
    let related = Related {
        patient: Some(&p),
        ..Related::default()
    };
    let adt = |e: &Value, event: Option<&str>| {
        let o = WriteOptions {
            event: event.map(str::to_owned),
            ..opts()
        };
        hl7v2::encounter_to_adt(e, &related, &o)
    };
    assert_eq!(adt(&e, None).expect("in-progress").event, "A04");
    assert_eq!(adt(&e, Some("A08")).expect("A08").event, "A08");
    assert!(adt(&e, Some("S12")).is_err());
    e["status"] = json!("finished");
    e["period"] = json!({"start": "2024-03-01T09:00:00+01:00", "end": "2024-03-01T09:20:00+01:00"});
    let out = adt(&e, None).expect("finished");
    assert_eq!(out.event, "A03");
    assert_eq!(segment(&out, "MSH")[8], "ADT^A03^ADT_A03");
    assert_eq!(segment(&out, "EVN")[6], "20240301092000+0100");
    assert_eq!(segment(&out, "PV1")[45], "20240301092000+0100");
    e["status"] = json!("planned");
    assert!(adt(&e, None).is_err());
}

#[test]
fn virtual_encounter_round_trips_with_the_configured_marker() {
    let p = fhir_fixture("patient-example.json");
    let related = Related {
        patient: Some(&p),
        ..Related::default()
    };
    let e = json!({
        "resourceType": "Encounter", "id": "tele1", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"},
        "subject": {"reference": "Patient/example"},
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "V-77"}],
        "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
                         "individual": {"type": "Practitioner", "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}, "display": "Ada Lovelace"}}],
        "period": {"start": "2024-03-01T09:00:00-05:00"},
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "386661006", "display": "Fever"}]}]
    });
    let out = hl7v2::encounter_to_adt(&e, &related, &opts()).expect("adt");
    assert_eq!(out.event, "A04");
    let pv1 = segment(&out, "PV1");
    assert_eq!((pv1[2], pv1[18]), ("O", "VR"));
    assert_eq!(
        pv1[7],
        "1234567893^Ada Lovelace^^^^^^^NPI&2.16.840.1.113883.4.6&ISO"
    );
    assert_eq!(pv1[19], "V-77^^^&2.16.840.1.113883.19.5&ISO");
    assert_eq!(pv1[44], "20240301090000-0500");
    assert_eq!(segment(&out, "PV2")[3], "386661006^Fever^SCT");
    let back = map_bytes(out.message.as_bytes(), None);
    let b = &of_type(&back, "Encounter")[0];
    assert_subset(
        b,
        r#"{"status": "in-progress", "class": {"code": "VR"},
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "V-77"}],
        "participant": [{"individual": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}}}],
        "period": {"start": "2024-03-01T09:00:00-05:00"},
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "386661006"}]}]}"#,
    );

    // PV1-2 O without the marker is ambulatory; a marker elsewhere is honoured both ways.
    let plain = out.message.replace("|VR|", "||");
    assert_eq!(
        of_type(&map_bytes(plain.as_bytes(), None), "Encounter")[0]["class"]["code"],
        "AMB"
    );
    let marker = VirtualMarker {
        field: 10,
        value: "TELE".into(),
    };
    let o = WriteOptions {
        virtual_marker: marker.clone(),
        ..opts()
    };
    let out = hl7v2::encounter_to_adt(&e, &related, &o).expect("adt");
    assert_eq!(segment(&out, "PV1")[10], "TELE");
    let msg = hl7v2::parse(out.message.as_bytes()).expect("parse");
    let ctx = Context {
        virtual_marker: marker,
        ..Context::default()
    };
    let back = hl7v2::message_to_fhir(&msg, &ctx).expect("map");
    assert_eq!(of_type(&back, "Encounter")[0]["class"]["code"], "VR");
}

#[test]
fn explicit_nulls_in_and_out() {
    let msg = b"MSH|^~\\&|EHR|H|||20240301||ADT^A08^ADT_A01|N1|P|2.5.1\rEVN|A08|20240301\rPID|1||42^^^EHR^MR||\"\"||\"\"|\"\"|||\"\"\rPV1|1|O\r";
    let m = map_bytes(msg, None);
    let p = &of_type(&m, "Patient")[0];
    for absent in ["name", "birthDate", "gender", "address"] {
        assert!(p.get(absent).is_none(), "{absent}");
    }
    assert_eq!(
        m.nulled,
        vec![
            "Patient.name",
            "Patient.gender",
            "Patient.birthDate",
            "Patient.address"
        ]
    );

    let patient = json!({"resourceType": "Patient", "id": "p9", "identifier": [{"value": "42"}], "name": [{"family": "Doe"}]});
    let related = Related {
        patient: Some(&patient),
        ..Related::default()
    };
    let e = json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "AMB"}, "subject": {"reference": "Patient/p9"}});
    let update = WriteOptions {
        event: Some("A08".into()),
        ..opts()
    };
    let pid = hl7v2::encounter_to_adt(&e, &related, &update)
        .expect("A08")
        .message;
    let pid: Vec<&str> = pid
        .split('\r')
        .find(|s| s.starts_with("PID"))
        .expect("PID")
        .split('|')
        .collect();
    assert_eq!(
        (pid[5], pid[7], pid[8], pid[11], pid[13]),
        ("Doe", "\"\"", "\"\"", "\"\"", "\"\"")
    );
    let create = hl7v2::encounter_to_adt(&e, &related, &opts())
        .expect("A04")
        .message;
    assert!(create.contains("\rPID|1||42||Doe\r"), "{create:?}");
}

#[test]
fn output_versions_differ_where_the_standard_does() {
    let p = fhir_fixture("patient-example.json");
    let related = Related {
        patient: Some(&p),
        ..Related::default()
    };
    let a = fhir_fixture("appointment-example.json");
    let v23 = WriteOptions {
        version: "2.3".into(),
        ..opts()
    };
    let out = hl7v2::appointment_to_siu(&a, &related, &v23).expect("2.3");
    assert_eq!(segment(&out, "MSH")[8], "SIU^S12");
    assert_eq!(
        segment(&out, "SCH")[11],
        "^^^20131210090000+0000^20131210110000+0000"
    );
    assert!(!out.message.contains("\rTQ1|"));
    assert!(segment(&out, "PID")[14].starts_with("(03) 5555 6473^WPN^PH"));
    let back = map_bytes(out.message.as_bytes(), None);
    assert_eq!(
        of_type(&back, "Appointment")[0]["start"],
        "2013-12-10T09:00:00+00:00"
    );

    let v28 = WriteOptions {
        version: "2.8".into(),
        ..opts()
    };
    let out = hl7v2::appointment_to_siu(&a, &related, &v28).expect("2.8");
    assert_eq!(segment(&out, "MSH")[11], "2.8");
    assert_eq!(segment(&out, "PID")[14], "^WPN^PH^^^^^^^^^(03) 5555 6473");
    let back = map_bytes(out.message.as_bytes(), None);
    assert_eq!(
        of_type(&back, "Patient")[0]["telecom"][2]["value"],
        "(03) 5555 6473"
    );

    let bad = WriteOptions {
        version: "3.0".into(),
        ..opts()
    };
    assert!(hl7v2::appointment_to_siu(&a, &related, &bad).is_err());
}

#[test]
fn z_segments_are_written_back_or_dropped() {
    let p = json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Z"}]});
    let related = Related {
        patient: Some(&p),
        ..Related::default()
    };
    let e = json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "extension": [{"url": hl7v2::Z_SEGMENT, "valueString": "ZVT|1|room-7"}]});
    let out = hl7v2::encounter_to_adt(&e, &related, &opts()).expect("adt");
    assert!(out.message.ends_with("\rZVT|1|room-7\r"));
    let back = map_bytes(out.message.as_bytes(), None);
    assert_eq!(of_type(&back, "Encounter")[0]["extension"], e["extension"]);
    let drop = WriteOptions {
        z_segments: ZSegments::Drop,
        ..opts()
    };
    assert!(
        !hl7v2::encounter_to_adt(&e, &related, &drop)
            .expect("adt")
            .message
            .contains("ZVT")
    );
}

#[test]
fn control_ids_are_unique_per_message() {
    let a = fhir_fixture("appointment-example.json");
    let o = WriteOptions::default();
    let ids: std::collections::HashSet<String> = (0..500)
        .map(|_| {
            hl7v2::appointment_to_siu(&a, &Related::default(), &o)
                .expect("siu")
                .control_id
        })
        .collect();
    assert_eq!(ids.len(), 500);
}
