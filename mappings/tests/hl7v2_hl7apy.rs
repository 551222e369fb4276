//! An independent parser reads what fhirgate writes: the official Appointment example and
//! its virtual-visit variant become SIU^S12 messages that PyPI `hl7apy` parses in strict
//! validation mode (`VALIDATION_LEVEL.STRICT`, groups resolved, `validate()` passes), and
//! the fields it reads back are the right ones (MSH-4 a configured HD with its universal
//! id). The ADT messages of a virtual Encounter
//! (A04, A03) are checked the same way.
//!
//! The virtualenv is `target/venv-hl7apy` (created once under a lock; needs PyPI).

mod hl7v2_support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use fhirgate_mappings::hl7v2::{self, Related, WriteOptions};
use hl7v2_support::{fhir_fixture, target_dir, venv_python};
use serde_json::{Value, json};

const READ_BACK: &str = r#"
import json, sys
from hl7apy.parser import parse_message
from hl7apy.consts import VALIDATION_LEVEL

def segs(node):
    out = []
    for c in node.children:
        if c.classname == "Segment":
            out.append(c)
        else:
            out.extend(segs(c))
    return out

def er7(f):
    try:
        return f().to_er7()
    except Exception:
        return None

results = []
for text in json.load(open(sys.argv[1])):
    msg = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    msg.validate()
    s = {}
    for seg in segs(msg):
        s.setdefault(seg.name, []).append(seg)
    one = lambda name: s[name][0]
    r = {
        "groups": [c.name for c in msg.children],
        "msh_9": msg.msh.msh_9.to_er7(),
        "msh_10": msg.msh.msh_10.to_er7(),
        "msh_12": msg.msh.msh_12.to_er7(),
        "msh_3": er7(lambda: msg.msh.msh_3),
        "msh_4": [er7(lambda: msg.msh.msh_4.hd_1), er7(lambda: msg.msh.msh_4.hd_2), er7(lambda: msg.msh.msh_4.hd_3)],
        "msh_5": er7(lambda: msg.msh.msh_5),
        "msh_6": er7(lambda: msg.msh.msh_6),
        "pid_3_1": one("PID").pid_3[0].cx_1.to_er7(),
        "pid_3_4": one("PID").pid_3[0].cx_4.to_er7(),
        "pid_5_family": one("PID").pid_5[0].xpn_1.fn_1.to_er7(),
        "pid_5_given": one("PID").pid_5[0].xpn_2.to_er7(),
        "pid_7": one("PID").pid_7.to_er7(),
        "pid_8": one("PID").pid_8.to_er7(),
        "pv1_2": er7(lambda: one("PV1").pv1_2),
        "pv1_18": er7(lambda: one("PV1").pv1_18),
    }
    if "SCH" in s:
        sch = one("SCH")
        r.update({
            "sch_1": sch.sch_1.ei_1.to_er7(),
            "sch_6": sch.sch_6.to_er7(),
            "sch_7": sch.sch_7.ce_1.to_er7(),
            "sch_25": sch.sch_25.to_er7(),
            "tq1_7": one("TQ1").tq1_7.to_er7(),
            "tq1_8": one("TQ1").tq1_8.to_er7(),
            "obx": [[o.obx_3.ce_1.to_er7(), o.obx_5.to_er7()] for o in s.get("OBX", [])],
            "ais_3": one("AIS").ais_3.ce_1.to_er7(),
            "ais_4": one("AIS").ais_4.to_er7(),
            "aip_3_id": one("AIP").aip_3.xcn_1.to_er7(),
            "aip_3_family": one("AIP").aip_3.xcn_2.fn_1.to_er7(),
            "ail_3_9": one("AIL").ail_3.pl_9.to_er7(),
        })
    if "EVN" in s:
        r.update({
            "evn_1": one("EVN").evn_1.to_er7(),
            "pv1_7_id": one("PV1").pv1_7[0].xcn_1.to_er7(),
            "pv1_19": one("PV1").pv1_19.cx_1.to_er7(),
            "pv1_44": er7(lambda: one("PV1").pv1_44),
            "pv1_45": er7(lambda: one("PV1").pv1_45),
        })
    results.append(r)
print(json.dumps(results))
"#;

fn read_back(messages: &[String]) -> Vec<Value> {
    let python = venv_python("venv-hl7apy", &["hl7apy==1.3.5"]);
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let file = target_dir().join(format!("hl7v2-hl7apy-{}-{n}.json", std::process::id()));
    // hl7apy's parser takes CR-separated segments without a final terminator.
    let texts: Vec<&str> = messages.iter().map(|m| m.trim_end_matches('\r')).collect();
    std::fs::write(&file, serde_json::to_vec(&texts).expect("json")).expect("write");
    let out = Command::new(python)
        .arg("-c")
        .arg(READ_BACK)
        .arg(&file)
        .output()
        .expect("run python");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "hl7apy (strict) refused:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python output")
}

#[test]
fn siu_s12_from_the_appointment_examples_passes_hl7apy_strict_validation() {
    let patient = fhir_fixture("patient-example.json");
    let practitioner = fhir_fixture("practitioner-example.json");
    let related = Related {
        patient: Some(&patient),
        others: vec![&practitioner],
        ..Related::default()
    };
    let plain = fhir_fixture("appointment-example.json");
    let mut virtual_visit = plain.clone();
    virtual_visit["extension"] = json!([{
        "url": hl7v2::VIRTUAL_SERVICE,
        "extension": [
            {"url": "channelType", "valueCoding": {"system": "http://hl7.org/fhir/virtual-service-type", "code": "ms-teams"}},
            {"url": "address", "valueUrl": "https://teams.example.org/l/meetup?id=7&ctx=tele"}
        ]
    }]);
    // MSH-3..6 as configured by hospital IT: HD values, one with its universal id.
    let opts = WriteOptions {
        sending_facility: "GENHOSP^2.16.840.1.113883.19.5^ISO".into(),
        receiving_application: "EHR".into(),
        receiving_facility: "MAINCAMPUS".into(),
        ..WriteOptions::default()
    };
    let messages: Vec<String> = [&plain, &virtual_visit]
        .iter()
        .map(|a| {
            hl7v2::appointment_to_siu(a, &related, &opts)
                .expect("siu")
                .message
        })
        .collect();
    let got = read_back(&messages);
    assert_eq!(got.len(), 2);
    for (r, msg) in got.iter().zip(&messages) {
        assert_eq!(r["msh_9"], "SIU^S12^SIU_S12");
        assert_eq!(r["msh_12"], "2.5.1");
        assert_eq!(r["msh_3"], "FHIRGATE");
        assert_eq!(
            r["msh_4"],
            json!(["GENHOSP", "2.16.840.1.113883.19.5", "ISO"])
        );
        assert_eq!(r["msh_5"], "EHR");
        assert_eq!(r["msh_6"], "MAINCAMPUS");
        let id = hl7v2::parse(msg.as_bytes()).expect("parse").control_id();
        assert_eq!(r["msh_10"].as_str(), id.as_deref());
        assert_eq!(r["sch_1"], "example");
        assert_eq!(r["sch_6"], "S12^^HL70003");
        assert_eq!(r["sch_7"], "FOLLOWUP");
        assert_eq!(r["sch_25"], "Booked");
        assert_eq!(r["tq1_7"], "20131210090000+0000");
        assert_eq!(r["tq1_8"], "20131210110000+0000");
        assert_eq!(r["pid_3_1"], "12345");
        assert_eq!(r["pid_3_4"], "Acme Healthcare&1.2.36.146.595.217.0.1&ISO");
        assert_eq!(r["pid_5_family"], "Chalmers");
        assert_eq!(r["pid_5_given"], "Peter");
        assert_eq!(r["pid_7"], "19741225143545-0500");
        assert_eq!(r["pid_8"], "M");
        assert_eq!(r["ais_3"], "52");
        assert_eq!(r["ais_4"], "20131210090000+0000");
        assert_eq!(r["aip_3_id"], "23");
        assert_eq!(r["aip_3_family"], "Careful");
        assert_eq!(r["ail_3_9"], "South Wing, second floor");
    }
    assert_eq!(
        got[0]["groups"],
        json!([
            "MSH",
            "SCH",
            "TQ1",
            "NTE",
            "SIU_S12_PATIENT",
            "SIU_S12_RESOURCES"
        ])
    );
    assert_eq!(got[0]["pv1_2"], Value::Null);
    assert_eq!(got[0]["obx"], json!([]));
    assert_eq!(got[1]["pv1_2"], "O");
    assert_eq!(got[1]["pv1_18"], "VR");
    assert_eq!(
        got[1]["obx"],
        json!([
            ["VS-CHANNEL", "ms-teams"],
            [
                "VS-ADDRESS",
                "https://teams.example.org/l/meetup?id=7\\T\\ctx=tele"
            ]
        ])
    );
}

#[test]
fn adt_a04_and_a03_of_a_virtual_encounter_pass_hl7apy_strict_validation() {
    let patient = fhir_fixture("patient-example.json");
    let practitioner = fhir_fixture("practitioner-example.json");
    let related = Related {
        patient: Some(&patient),
        others: vec![&practitioner],
        ..Related::default()
    };
    let mut e = json!({
        "resourceType": "Encounter", "id": "tele1", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
        "subject": {"reference": "Patient/example"},
        "participant": [{"individual": {"reference": "Practitioner/example"}}],
        "period": {"start": "2024-03-01T09:00:00-05:00"}
    });
    let opts = WriteOptions::default();
    let a04 = hl7v2::encounter_to_adt(&e, &related, &opts)
        .expect("A04")
        .message;
    e["status"] = json!("finished");
    e["period"]["end"] = json!("2024-03-01T09:25:00-05:00");
    let a03 = hl7v2::encounter_to_adt(&e, &related, &opts)
        .expect("A03")
        .message;
    let got = read_back(&[a04, a03]);
    assert_eq!(got[0]["msh_9"], "ADT^A04^ADT_A01");
    assert_eq!(got[1]["msh_9"], "ADT^A03^ADT_A03");
    for r in &got {
        assert_eq!(r["pv1_2"], "O");
        assert_eq!(r["pv1_18"], "VR");
        assert_eq!(r["pv1_7_id"], "23");
        assert_eq!(r["pv1_19"], "tele1");
        assert_eq!(r["pv1_44"], "20240301090000-0500");
        assert_eq!(r["pid_5_family"], "Chalmers");
    }
    assert_eq!(got[0]["evn_1"], "A04");
    assert_eq!(got[1]["pv1_45"], "20240301092500-0500");
}
