//! Every SCRIPT fixture in `tests/fixtures/ncpdp-script/` maps to FHIR (or is refused with a
//! clear version error: the 2023011 Error), with the mapped fields asserted per message.

use std::path::{Path, PathBuf};

use fhirgate_mappings::MappingError;
use fhirgate_mappings::ncpdp::{
    Body, InboundContext, Message, message_to_fhir, parse_message, task_update,
};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/ncpdp-script")
}

fn load(name: &str) -> Message {
    let bytes = std::fs::read(dir().join(name)).expect("fixture");
    parse_message(&bytes).expect("parses")
}

fn fhir(name: &str, ctx: &InboundContext) -> Vec<Value> {
    message_to_fhir(&load(name), ctx).expect("maps")
}

fn of<'a>(resources: &'a [Value], ty: &str) -> &'a Value {
    resources
        .iter()
        .find(|r| r["resourceType"] == ty)
        .unwrap_or_else(|| panic!("no {ty} in {resources:?}"))
}

fn related() -> InboundContext {
    InboundContext {
        medication_request: Some("MedicationRequest/rx-1".to_owned()),
        ..InboundContext::default()
    }
}

#[test]
fn every_fixture_maps_or_is_refused_with_a_version_error() {
    let mut mapped = 0;
    for entry in std::fs::read_dir(dir()).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&path).expect("read");
        match parse_message(&bytes) {
            Err(MappingError::UnsupportedVersion { version, .. }) => {
                assert!(
                    name.contains("2023011"),
                    "{name} refused as version {version}"
                );
                assert_eq!(version, "2023011");
                let text = MappingError::UnsupportedVersion {
                    format: "ncpdp",
                    version,
                    supported: "NCPDP SCRIPT 2017071",
                }
                .to_string();
                assert!(
                    text.contains("2023011") && text.contains("2017071"),
                    "{text}"
                );
            }
            Err(e) => panic!("{name}: {e}"),
            Ok(m) => {
                assert_eq!(m.version, "2017071", "{name}");
                assert!(!m.header.message_id.is_empty(), "{name}");
                let resources =
                    message_to_fhir(&m, &related()).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(!resources.is_empty(), "{name}");
                for r in &resources {
                    assert!(
                        r["id"].as_str().is_some_and(|id| id.len() <= 64),
                        "{name}: {r}"
                    );
                }
                mapped += 1;
            }
        }
    }
    assert_eq!(mapped, 12, "12 of the 13 fixtures are 2017071");
}

#[test]
fn newrx_basic_maps_every_field() {
    let m = load("NewRx_2017071_basic.xml");
    assert!(m.version_declared);
    assert_eq!(
        m.header.prescriber_order_number.as_deref(),
        Some("SYNTH-ORDER-0001")
    );
    let r = message_to_fhir(&m, &InboundContext::default()).expect("maps");
    let mr = &r[0];
    assert_eq!(mr["resourceType"], "MedicationRequest");
    assert_eq!(mr["status"], "active");
    assert_eq!(mr["intent"], "order");
    assert_eq!(mr["identifier"][0]["value"], "SYNTH-ORDER-0001");
    assert_eq!(mr["authoredOn"], "2026-01-15");
    let dr = &mr["dispenseRequest"];
    assert_eq!(dr["quantity"]["value"].to_string(), "30");
    assert_eq!(dr["quantity"]["system"], "http://ncimeta.nci.nih.gov");
    assert_eq!(dr["quantity"]["code"], "C48480");
    assert_eq!(dr["quantity"]["unit"], "capsule");
    assert_eq!(dr["expectedSupplyDuration"]["value"].to_string(), "10");
    assert_eq!(dr["expectedSupplyDuration"]["code"], "d");
    assert_eq!(
        dr["numberOfRepeatsAllowed"].to_string(),
        "1",
        "NumberOfRefills 1 = 1 repeat"
    );
    assert_eq!(
        mr["substitution"]["allowedBoolean"], true,
        "Substitutions 0 = allowed"
    );
    assert_eq!(
        mr["dosageInstruction"][0]["text"],
        "Take 1 capsule by mouth three times daily for 10 days."
    );
    assert_eq!(
        mr["note"][0]["text"],
        "Synthetic test note, no real patient."
    );
    let med = of(&r, "Medication");
    assert_eq!(
        mr["medicationReference"]["reference"],
        format!("Medication/{}", med["id"].as_str().expect("id"))
    );
    assert_eq!(
        med["code"]["coding"][0]["system"],
        "http://hl7.org/fhir/sid/ndc"
    );
    assert_eq!(med["code"]["coding"][0]["code"], "00093310501");
    assert_eq!(med["code"]["text"], "Amoxicillin 500 MG Oral Capsule");
    let patient = of(&r, "Patient");
    assert_eq!(
        mr["subject"]["reference"],
        format!("Patient/{}", patient["id"].as_str().expect("id"))
    );
    assert_eq!(patient["name"][0]["family"], "Testpatient");
    assert_eq!(patient["name"][0]["given"][0], "Avery");
    assert_eq!(patient["gender"], "female");
    assert_eq!(patient["birthDate"], "1990-04-12");
    let pr = of(&r, "Practitioner");
    assert_eq!(
        pr["identifier"][0]["system"],
        "http://hl7.org/fhir/sid/us-npi"
    );
    assert_eq!(pr["identifier"][0]["value"], "1888888888");
    assert_eq!(
        mr["requester"]["reference"],
        format!("Practitioner/{}", pr["id"].as_str().expect("id"))
    );
    let pharmacy = of(&r, "Organization");
    assert_eq!(pharmacy["identifier"][0]["value"], "1999999999");
    assert_eq!(pharmacy["name"], "Synthetic Community Pharmacy");
    assert_eq!(
        dr["performer"]["reference"],
        format!("Organization/{}", pharmacy["id"].as_str().expect("id"))
    );
    // Deterministic ids: the same message maps to the same ids.
    let again = message_to_fhir(&m, &InboundContext::default()).expect("maps");
    assert_eq!(again[0]["id"], mr["id"]);
}

#[test]
fn structured_sig_maps_to_structured_dosage() {
    let r = fhir(
        "NewRx_2017071_structured_sig.xml",
        &InboundContext::default(),
    );
    let mr = &r[0];
    let d = &mr["dosageInstruction"][0];
    assert_eq!(
        d["text"],
        "Take 1 tablet by mouth twice daily for 10 days for infection."
    );
    assert_eq!(d["method"]["coding"][0]["system"], "http://snomed.info/sct");
    assert_eq!(d["method"]["coding"][0]["code"], "419652001");
    assert_eq!(d["route"]["coding"][0]["code"], "26643006");
    assert_eq!(d["route"]["text"], "by mouth");
    assert_eq!(d["site"]["coding"][0]["code"], "123851003");
    let dose = &d["doseAndRate"][0]["doseQuantity"];
    assert_eq!(dose["value"].to_string(), "1");
    assert_eq!(dose["code"], "C48542");
    assert_eq!(dose["unit"], "tablet");
    assert_eq!(d["timing"]["code"]["text"], "twice daily");
    assert_eq!(mr["reasonCode"][0]["text"], "for infection");
    assert_eq!(mr["dispenseRequest"]["quantity"]["value"].to_string(), "20");
    assert!(
        mr["dispenseRequest"]["quantity"]["code"].is_null(),
        "no unit in the source"
    );
    assert_eq!(
        mr["subject"]["display"],
        "patient not named in the SCRIPT message"
    );
}

#[test]
fn namespace_less_rems_newrx_is_read_as_2017071() {
    let m = load("NewRx_no_namespace_no_version_REMS_isotretinoin.xml");
    assert!(!m.version_declared, "no version attribute");
    let r = message_to_fhir(&m, &InboundContext::default()).expect("maps");
    let mr = &r[0];
    assert_eq!(
        mr["dispenseRequest"]["numberOfRepeatsAllowed"].to_string(),
        "3"
    );
    assert_eq!(mr["dispenseRequest"]["quantity"]["value"].to_string(), "90");
    assert_eq!(mr["substitution"]["allowedBoolean"], true);
    assert_eq!(mr["authoredOn"], "2020-07-11");
    let med = of(&r, "Medication");
    assert_eq!(
        med["code"]["coding"][0]["code"], "0245-0571-01",
        "ProductCode as Code + Qualifier children"
    );
    let patient = of(&r, "Patient");
    assert_eq!(patient["gender"], "male");
    assert_eq!(patient["address"][0]["line"][0], "1 Winterfell Rd");
    assert_eq!(patient["address"][0]["country"], "US");
    let pr = of(&r, "Practitioner");
    assert_eq!(pr["telecom"][0]["value"], "716-555-0100");
    assert_eq!(pr["address"][0]["state"], "NY");
}

#[test]
fn cancel_rx_maps_to_a_cancelled_medication_request() {
    let r = fhir("CancelRx_2017071_request.xml", &related());
    assert_eq!(r[0]["resourceType"], "MedicationRequest");
    assert_eq!(r[0]["status"], "cancelled");
    assert_eq!(
        r[0]["id"], "rx-1",
        "the context names the cancelled request"
    );
    assert_eq!(
        of(&r, "Medication")["code"]["text"],
        "Atorvastatin 20 MG Oral Tablet"
    );
}

#[test]
fn renewal_and_change_requests_map_to_a_proposal_and_a_task_for_the_prescriber() {
    for (file, description) in [
        ("RxRenewalRequest_2017071.xml", "RxRenewalRequest"),
        ("RxChangeRequest_2017071.xml", "RxChangeRequest"),
    ] {
        let r = fhir(file, &related());
        let task = &r[0];
        assert_eq!(task["resourceType"], "Task");
        assert_eq!(task["status"], "requested");
        assert_eq!(task["code"]["coding"][0]["code"], "approve");
        assert!(
            task["description"]
                .as_str()
                .expect("text")
                .starts_with(description)
        );
        let proposal = of(&r, "MedicationRequest");
        assert_eq!(proposal["intent"], "proposal");
        assert_eq!(
            proposal["basedOn"][0]["reference"],
            "MedicationRequest/rx-1"
        );
        assert_eq!(
            task["focus"]["reference"],
            format!("MedicationRequest/{}", proposal["id"].as_str().expect("id"))
        );
        let pr = of(&r, "Practitioner");
        assert_eq!(
            task["owner"]["reference"],
            format!("Practitioner/{}", pr["id"].as_str().expect("id"))
        );
        assert_eq!(task["for"], proposal["subject"]);
        assert!(
            task["identifier"][0]["value"]
                .as_str()
                .expect("id")
                .starts_with("SYNTH-REF-0")
        );
        assert_eq!(
            proposal["dispenseRequest"]["expectedSupplyDuration"]["value"].to_string(),
            "30"
        );
    }
}

#[test]
fn renewal_and_change_responses_map_to_a_decided_task_and_the_approved_order() {
    let r = fhir("RxRenewalResponse_2017071_approved.xml", &related());
    assert_eq!(r[0]["resourceType"], "Task");
    assert_eq!(r[0]["status"], "completed");
    let mr = of(&r, "MedicationRequest");
    assert_eq!(mr["intent"], "order");
    assert_eq!(
        mr["dispenseRequest"]["numberOfRepeatsAllowed"].to_string(),
        "3"
    );
    let r = fhir("fhirgate-RxChangeResponse_2017071_approved.xml", &related());
    assert_eq!(r[0]["status"], "completed");
    let mr = of(&r, "MedicationRequest");
    assert_eq!(mr["dispenseRequest"]["quantity"]["code"], "C48542");
    assert_eq!(of(&r, "Medication")["code"]["coding"][0]["code"], "617310");
}

#[test]
fn status_error_verify_and_cancel_response_update_the_delivery_task() {
    let status = load("Status_2017071_010.xml");
    assert_eq!(
        status.header.relates_to_message_id.as_deref(),
        Some("SYNTH-MSG-0001")
    );
    let u = task_update(&status).expect("update");
    assert_eq!(u.status, "received");
    assert_eq!(u.business_status["coding"][0]["code"], "status-010");
    assert_eq!(
        u.business_status["text"],
        "Status 010: Transaction received and queued for processing."
    );
    let r = message_to_fhir(&status, &related()).expect("maps");
    assert_eq!(r[0]["resourceType"], "Task");
    assert_eq!(r[0]["code"]["coding"][0]["code"], "fulfill");
    assert_eq!(r[0]["focus"]["reference"], "MedicationRequest/rx-1");
    assert_eq!(r[0]["status"], "received");

    let verify = load("fhirgate-Verify_2017071.xml");
    assert!(matches!(&verify.body, Body::Verify(s) if s.code == "010"));
    assert_eq!(task_update(&verify).expect("update").status, "accepted");

    let cancel = load("fhirgate-CancelRxResponse_2017071_approved.xml");
    let u = task_update(&cancel).expect("update");
    assert_eq!(u.status, "cancelled");
    assert_eq!(
        u.business_status["coding"][0]["code"],
        "cancelrxresponse-approved"
    );

    for request in ["NewRx_2017071_basic.xml", "RxRenewalRequest_2017071.xml"] {
        assert!(task_update(&load(request)).is_none(), "{request}");
    }
}

#[test]
fn rx_fill_maps_to_a_medication_dispense_for_the_prescription() {
    let m = load("fhirgate-RxFill_2017071_dispensed.xml");
    assert_eq!(m.header.rx_reference_number.as_deref(), Some("RX-778899"));
    let ctx = InboundContext {
        medication_request: Some("MedicationRequest/rx-1".to_owned()),
        patient: Some("Patient/p-1".to_owned()),
        prescriber: None,
    };
    let r = message_to_fhir(&m, &ctx).expect("maps");
    let d = &r[0];
    assert_eq!(d["resourceType"], "MedicationDispense");
    assert_eq!(d["status"], "completed");
    assert_eq!(
        d["authorizingPrescription"][0]["reference"],
        "MedicationRequest/rx-1"
    );
    assert_eq!(d["subject"]["reference"], "Patient/p-1");
    assert!(
        r.iter().all(|x| x["resourceType"] != "Patient"),
        "the context names the patient"
    );
    assert_eq!(d["quantity"]["value"].to_string(), "30");
    assert_eq!(d["quantity"]["code"], "C48480");
    assert_eq!(d["daysSupply"]["value"].to_string(), "10");
    assert_eq!(d["whenHandedOver"], "2026-01-16");
    assert_eq!(d["note"][0]["text"], "Picked up by patient.");
    let coding = d["medicationCodeableConcept"]["coding"]
        .as_array()
        .expect("codings");
    assert!(coding.iter().any(
        |c| c["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm" && c["code"] == "308191"
    ));
    let pharmacy = of(&r, "Organization");
    assert_eq!(
        pharmacy["name"], "Smith & Sons <Test> Pharmacy",
        "entities decoded"
    );
    assert_eq!(
        pharmacy["identifier"][0]["system"],
        "http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber"
    );
    assert_eq!(pharmacy["identifier"][0]["value"], "9999999");
    assert_eq!(
        d["performer"][0]["actor"]["reference"],
        format!("Organization/{}", pharmacy["id"].as_str().expect("id"))
    );
    let u = task_update(&m).expect("update");
    assert_eq!(u.status, "completed");
    assert_eq!(u.business_status["coding"][0]["code"], "rxfill-dispensed");
}
