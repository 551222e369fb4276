//! What a NewRx is refused for: the official R4 MedicationRequest examples (unshipped
//! references, SNOMED-only drugs, the non-UCUM unit `TAB`, two scheduled drugs), elements
//! removed from the complete sandbox prescription, controlled substances; and what the
//! outbound side writes for awkward values (escaping, refills, substitution).

mod ncpdp_support;

use fhirgate_mappings::MappingError;
use fhirgate_mappings::ncpdp::{
    Body, DEA_SCHEDULE_EXTENSION, Header, Message, Prescription, ScheduledIngredients,
    controlled_substance, medication_request_to_cancel_rx, medication_request_to_new_rx,
    missing_new_rx_elements, parse_message,
};
use ncpdp_support::{header, read_json, sandbox_bundle};
use serde_json::{Value, json};

fn paths(p: &Prescription) -> Vec<String> {
    missing_new_rx_elements(p)
        .into_iter()
        .map(|m| m.path)
        .collect()
}

fn r4_example(name: &str) -> Prescription {
    Prescription::from_bundle(&read_json(&format!("tests/fixtures/fhir-r4/{name}.json")))
        .expect("prescription")
}

fn sandbox() -> Prescription {
    Prescription::from_bundle(&sandbox_bundle()).expect("prescription")
}

fn new_rx(p: &Prescription) -> Message {
    let xml = medication_request_to_new_rx(p, &header()).expect("NewRx");
    parse_message(xml.as_bytes()).expect("parse")
}

#[test]
fn official_r4_examples_are_refused_naming_each_missing_element() {
    for name in [
        "medicationrequest0301",
        "medicationrequest0302",
        "medicationrequest0305",
        "medicationrequestexample1",
    ] {
        let p = r4_example(name);
        assert!(
            p.medication.is_some(),
            "{name}: the contained Medication resolves"
        );
        let found = paths(&p);
        for expected in [
            "MedicationRequest.requester",
            "MedicationRequest.subject",
            // Every example dispenses in v3-orderableDrugForm `TAB`, not a unit SCRIPT knows.
            "MedicationRequest.dispenseRequest.quantity.unit",
            "MedicationRequest.dispenseRequest.performer",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{name}: {expected} not in {found:?}"
            );
        }
        let err = medication_request_to_new_rx(&p, &header()).expect_err("refused");
        match err {
            MappingError::MissingElements { elements, .. } => {
                assert_eq!(elements.len(), found.len());
                assert!(
                    elements[0].starts_with("MedicationRequest.requester: "),
                    "{elements:?}"
                );
            }
            other => panic!("{name}: {other}"),
        }
    }
    // The drug description comes from the contained Medication's SNOMED display, the Sig
    // from dosageInstruction.text: neither is missing.
    let found = paths(&r4_example("medicationrequest0302"));
    assert!(
        !found
            .iter()
            .any(|f| f.contains("medication[x]") || f.contains("dosageInstruction")),
        "{found:?}"
    );
}

#[test]
fn scheduled_r4_examples_are_refused_as_controlled_substances() {
    let list = ScheduledIngredients::default();
    let oxy = controlled_substance(&r4_example("medicationrequest0301"), &list)
        .expect("oxycodone is controlled");
    assert!(
        oxy.contains("oxycodone") && oxy.contains("7804") && oxy.contains("CII"),
        "{oxy}"
    );
    let alp = controlled_substance(&r4_example("medicationrequest0305"), &list)
        .expect("alprazolam is controlled");
    assert!(alp.contains("alprazolam") && alp.contains("CIV"), "{alp}");
    for name in ["medicationrequest0302", "medicationrequestexample1"] {
        assert_eq!(
            controlled_substance(&r4_example(name), &list),
            None,
            "{name}"
        );
    }
    assert_eq!(
        controlled_substance(&sandbox(), &list),
        None,
        "amlodipine is not scheduled"
    );
}

#[test]
fn controlled_by_ingredient_code_or_flag_extension() {
    let mut p = sandbox();
    p.medication_request["medicationCodeableConcept"] = json!({
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "10689"}],
        "text": "Ultram 50 MG Oral Tablet"
    });
    let list = ScheduledIngredients::default();
    assert!(
        controlled_substance(&p, &list)
            .expect("tramadol")
            .contains("tramadol")
    );
    assert_eq!(
        controlled_substance(&p, &ScheduledIngredients::from_codes(vec!["999".into()])),
        None
    );
    assert!(
        controlled_substance(&p, &ScheduledIngredients::from_codes(vec!["10689".into()])).is_some()
    );
    // A word inside another word does not match (e.g. "codeine" inside "oxycodeine" would).
    let mut q = sandbox();
    q.medication_request["medicationCodeableConcept"] =
        json!({"text": "Hydrocodone bitartrate 5 MG"});
    assert!(controlled_substance(&q, &list).is_some());
    q.medication_request["medicationCodeableConcept"] = json!({"text": "Noxycodonex 5 MG"});
    assert_eq!(controlled_substance(&q, &list), None);
    // The flag extension on the Medication; its schedule is written as DEASchedule.
    let mut r = sandbox();
    r.medication = Some(json!({
        "resourceType": "Medication",
        "extension": [{"url": DEA_SCHEDULE_EXTENSION, "valueCode": "CII"}],
        "code": {"text": "Some opioid 10 MG Oral Tablet"}
    }));
    r.medication_request
        .as_object_mut()
        .expect("object")
        .remove("medicationCodeableConcept");
    r.medication_request["medicationReference"] = json!({"reference": "Medication/m1"});
    assert!(
        controlled_substance(&r, &list)
            .expect("flagged")
            .contains("schedule CII")
    );
    let m = new_rx(&r);
    let med = m
        .body
        .transaction()
        .and_then(|t| t.medication_prescribed.clone())
        .expect("med");
    assert_eq!(med.dea_schedule.as_deref(), Some("C48675"));
    assert_eq!(
        med.drug_description.as_deref(),
        Some("Some opioid 10 MG Oral Tablet")
    );
}

/// Removes or spoils one element of the complete sandbox prescription.
type Breaker = Box<dyn Fn(&mut Prescription)>;

#[test]
fn each_missing_element_of_issue_7_item_3_is_named() {
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "Practitioner.identifier:NPI",
            Box::new(|p| p.prescriber["identifier"] = json!([])),
        ),
        (
            "Practitioner.identifier:NPI",
            Box::new(|p| p.prescriber["identifier"][0]["value"] = json!("1234567890")),
        ),
        (
            "Practitioner.name.family",
            Box::new(|p| {
                p.prescriber["name"][0]
                    .as_object_mut()
                    .map(|o| o.remove("family"))
                    .map(|_| ())
                    .unwrap_or(())
            }),
        ),
        (
            "Practitioner.address",
            Box::new(|p| p.prescriber["address"] = Value::Null),
        ),
        (
            "Practitioner.address.postalCode",
            Box::new(|p| p.prescriber["address"][0]["postalCode"] = Value::Null),
        ),
        (
            "Patient.name.family",
            Box::new(|p| p.patient["name"] = json!([{"given": ["A"]}])),
        ),
        (
            "Patient.birthDate",
            Box::new(|p| p.patient["birthDate"] = Value::Null),
        ),
        (
            "Patient.gender",
            Box::new(|p| p.patient["gender"] = Value::Null),
        ),
        (
            "MedicationRequest.medication[x]",
            Box::new(
                |p| p.medication_request["medicationCodeableConcept"] = json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361"}]}),
            ),
        ),
        (
            "MedicationRequest.dispenseRequest.quantity.value",
            Box::new(|p| {
                p.medication_request["dispenseRequest"]["quantity"]["value"] = Value::Null
            }),
        ),
        (
            "MedicationRequest.dispenseRequest.quantity.unit",
            Box::new(|p| {
                p.medication_request["dispenseRequest"]["quantity"] =
                    json!({"value": 30, "unit": "puffs of magic"})
            }),
        ),
        (
            "MedicationRequest.dispenseRequest.expectedSupplyDuration",
            Box::new(|p| {
                p.medication_request["dispenseRequest"]["expectedSupplyDuration"] =
                    json!({"value": 1.5, "code": "d"})
            }),
        ),
        (
            "MedicationRequest.dosageInstruction.text",
            Box::new(|p| p.medication_request["dosageInstruction"][0]["text"] = Value::Null),
        ),
        (
            "MedicationRequest.authoredOn",
            Box::new(|p| p.medication_request["authoredOn"] = Value::Null),
        ),
        (
            "Organization.identifier:NCPDPProviderIdentificationNumber",
            Box::new(|p| p.pharmacy["identifier"] = json!([])),
        ),
        (
            "Organization.identifier:NCPDPProviderIdentificationNumber",
            Box::new(|p| p.pharmacy["identifier"][0]["value"] = json!("12AB")),
        ),
        (
            "MedicationRequest.dispenseRequest.performer",
            Box::new(|p| p.pharmacy = Value::Null),
        ),
        (
            "MedicationRequest.subject",
            Box::new(|p| p.patient = Value::Null),
        ),
    ];
    for (path, break_it) in cases {
        let mut p = sandbox();
        break_it(&mut p);
        let found = missing_new_rx_elements(&p);
        assert_eq!(found.len(), 1, "{path}: {found:?}");
        assert_eq!(found[0].path, path);
        assert!(!found[0].reason.is_empty());
        assert!(!found[0].reason.contains("Hoeger"), "no PHI in reasons");
    }
}

#[test]
fn names_with_markup_characters_are_escaped_and_read_back() {
    let mut p = sandbox();
    p.patient["name"] = json!([{"family": "O'Neil & <Sons>", "given": ["Jane \"J\""]}]);
    p.medication_request["note"] = json!([{"text": "Use ]]> & <b>not</b> markup"}]);
    let xml = medication_request_to_new_rx(&p, &header()).expect("NewRx");
    assert!(
        xml.contains("<LastName>O&apos;Neil &amp; &lt;Sons&gt;</LastName>"),
        "{xml}"
    );
    let m = parse_message(xml.as_bytes()).expect("well-formed");
    let t = m.body.transaction().expect("t");
    let name = &t.patient.as_ref().expect("patient").name;
    assert_eq!(name.last.as_deref(), Some("O'Neil & <Sons>"));
    assert_eq!(name.first.as_deref(), Some("Jane \"J\""));
    assert_eq!(
        t.medication_prescribed
            .as_ref()
            .and_then(|m| m.note.as_deref()),
        Some("Use ]]> & <b>not</b> markup")
    );
}

#[test]
fn refills_substitution_and_written_date_follow_the_rules() {
    let mut p = sandbox();
    let med = |p: &Prescription| {
        new_rx(p)
            .body
            .transaction()
            .and_then(|t| t.medication_prescribed.clone())
            .expect("med")
    };
    p.medication_request["dispenseRequest"]["numberOfRepeatsAllowed"] = json!(0);
    p.medication_request["substitution"] = json!({"allowedBoolean": false});
    p.medication_request["authoredOn"] = json!("2024-02-29");
    let m = med(&p);
    assert_eq!(
        m.number_of_refills.as_deref(),
        Some("0"),
        "0 repeats = original fill only = 0 refills"
    );
    assert_eq!(
        m.substitutions.as_deref(),
        Some("1"),
        "substitution not allowed"
    );
    assert_eq!(m.written_date.as_deref(), Some("2024-02-29"));
    p.medication_request["dispenseRequest"]
        .as_object_mut()
        .expect("o")
        .remove("numberOfRepeatsAllowed");
    p.medication_request["substitution"] = json!({"allowedCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution", "code": "N"}]}});
    let m = med(&p);
    assert_eq!(
        m.number_of_refills.as_deref(),
        Some("0"),
        "absent = no refills"
    );
    assert_eq!(m.substitutions.as_deref(), Some("1"), "v3 N = none allowed");
    p.medication_request["substitution"] = json!({"allowedCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution", "code": "E"}]}});
    assert_eq!(med(&p).substitutions.as_deref(), Some("0"));
    p.medication_request["dispenseRequest"]["quantity"] = serde_json::from_str(
        r#"{"value": 2.50, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}"#,
    )
    .expect("json");
    let q = med(&p).quantity.expect("q");
    assert_eq!(
        (q.value.as_str(), q.unit_code.as_deref()),
        ("2.50", Some("C28254")),
        "decimal kept exactly"
    );
    p.medication_request["dispenseRequest"]["quantity"] =
        json!({"value": 1, "system": "http://ncimeta.nci.nih.gov", "code": "C64933"});
    assert_eq!(
        med(&p).quantity.and_then(|q| q.unit_code).as_deref(),
        Some("C64933")
    );
}

#[test]
fn cancel_rx_needs_a_cancelled_or_stopped_request() {
    let mut p = sandbox();
    let h = Header {
        relates_to_message_id: Some("fhirgate-test-0001".into()),
        ..header()
    };
    let err = medication_request_to_cancel_rx(&p, &h).expect_err("active");
    assert!(err.to_string().contains("cancelled or stopped"), "{err}");
    p.medication_request["status"] = json!("cancelled");
    p.medication_request["statusReason"] = json!({"text": "Patient switched therapy"});
    let xml = medication_request_to_cancel_rx(&p, &h).expect("CancelRx");
    let m = parse_message(xml.as_bytes()).expect("parse");
    assert!(matches!(m.body, Body::CancelRx(_)));
    assert_eq!(
        m.header.relates_to_message_id.as_deref(),
        Some("fhirgate-test-0001")
    );
    let med = m
        .body
        .transaction()
        .and_then(|t| t.medication_prescribed.clone())
        .expect("med");
    assert_eq!(med.note.as_deref(), Some("Patient switched therapy"));
    assert_eq!(med.drug_db_code.map(|c| c.code).as_deref(), Some("197361"));
}

#[test]
fn contained_resources_and_practitioner_roles_resolve() {
    let bundle = sandbox_bundle();
    let entries = bundle["entry"].as_array().expect("entries");
    let res = |ty: &str| {
        entries
            .iter()
            .map(|e| e["resource"].clone())
            .find(|r| r["resourceType"] == ty)
            .expect("r")
    };
    let mut mr = res("MedicationRequest");
    let mut pr = res("Practitioner");
    pr["id"] = json!("doc");
    let mut pharmacy = res("Organization");
    pharmacy["id"] = json!("pharm");
    let mut pt = res("Patient");
    pt["id"] = json!("pt");
    let role = json!({"resourceType": "PractitionerRole", "id": "role", "practitioner": {"reference": "#doc"},
        "organization": {"reference": "#clinic"}});
    let clinic =
        json!({"resourceType": "Organization", "id": "clinic", "name": "Telehealth Clinic & Co"});
    mr["contained"] = json!([pr, pharmacy, pt, role, clinic]);
    mr["subject"] = json!({"reference": "#pt"});
    mr["requester"] = json!({"reference": "#role"});
    mr["dispenseRequest"]["performer"] = json!({"reference": "#pharm"});
    let p = Prescription::from_bundle(&mr).expect("prescription");
    assert_eq!(missing_new_rx_elements(&p), vec![]);
    let t = new_rx(&p);
    let prescriber = t
        .body
        .transaction()
        .and_then(|t| t.prescriber.clone())
        .expect("prescriber");
    assert_eq!(
        prescriber.practice_location.as_deref(),
        Some("Telehealth Clinic & Co")
    );
    assert_eq!(prescriber.npi.as_deref(), Some("1234567893"));
    // More than one MedicationRequest, or none, is refused.
    let two = json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": mr.clone()}, {"resource": mr}]});
    assert!(Prescription::from_bundle(&two).is_err());
    assert!(Prescription::from_bundle(&json!({"resourceType": "Patient"})).is_err());
}

#[test]
fn prescriber_dea_number_is_carried_both_ways() {
    let mut p = sandbox();
    p.prescriber["identifier"]
        .as_array_mut()
        .expect("identifiers")
        .push(json!({"system": "urn:oid:2.16.840.1.113883.4.814", "value": "BP1234563"}));
    let m = new_rx(&p);
    let pr = m
        .body
        .transaction()
        .and_then(|t| t.prescriber.clone())
        .expect("prescriber");
    assert_eq!(pr.dea_number.as_deref(), Some("BP1234563"));
    let back = fhirgate_mappings::ncpdp::message_to_fhir(&m, &Default::default()).expect("fhir");
    let practitioner = back
        .iter()
        .find(|r| r["resourceType"] == "Practitioner")
        .expect("practitioner");
    assert_eq!(
        practitioner["identifier"][1]["system"],
        "http://terminology.hl7.org/NamingSystem/USDEANumber"
    );
    assert_eq!(practitioner["identifier"][1]["value"], "BP1234563");
}
