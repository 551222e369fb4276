//! FHIR → NewRx → FHIR and NewRx → FHIR → NewRx: the sandbox bundle's complete
//! MedicationRequest is the main positive case; the NewRx fixtures go round and keep drug,
//! quantity + unit, days supply, refills, sig, substitution, written date, prescriber NPI and
//! patient.

mod ncpdp_support;

use fhirgate_mappings::ncpdp::{
    Body, InboundContext, MedicationData, Message, PatientData, Prescription,
    medication_request_to_new_rx, message_to_fhir, missing_new_rx_elements, parse_message,
    prescription_to_transaction, write_message,
};
use ncpdp_support::{header, root, sandbox_bundle};
use serde_json::{Value, json};

fn transaction(m: &Message) -> &fhirgate_mappings::ncpdp::RxTransaction {
    m.body.transaction().expect("transaction")
}

#[test]
fn sandbox_medication_request_makes_a_complete_new_rx() {
    let p = Prescription::from_bundle(&sandbox_bundle()).expect("prescription");
    assert_eq!(missing_new_rx_elements(&p), vec![], "nothing missing");
    assert_eq!(
        p.coverage.len(),
        1,
        "the patient's Coverage, found by beneficiary"
    );
    let xml = medication_request_to_new_rx(&p, &header()).expect("NewRx");
    assert!(xml.contains(r#"TransactionVersion="20170715""#));
    assert!(xml.contains(r#"<To Qualifier="P">9999999</To>"#));
    let m = parse_message(xml.as_bytes()).expect("our NewRx parses");
    assert!(matches!(m.body, Body::NewRx(_)));
    assert_eq!(m.header.message_id, "fhirgate-test-0001");
    assert_eq!(
        m.header.prescriber_order_number.as_deref(),
        Some("RX-0000001")
    );
    let t = transaction(&m);
    let pt = t.patient.as_ref().expect("patient");
    assert_eq!(pt.name.last.as_deref(), Some("Hoeger"));
    assert_eq!(pt.name.first.as_deref(), Some("Buster"));
    assert_eq!(pt.name.prefix.as_deref(), Some("Mr."));
    assert_eq!(pt.gender.as_deref(), Some("M"));
    assert_eq!(pt.birth_date.as_deref(), Some("1988-03-16"));
    let a = pt.address.as_ref().expect("address");
    assert_eq!(a.state.as_deref(), Some("MA"), "Massachusetts → USPS code");
    assert_eq!(a.postal_code.as_deref(), Some("01002"));
    assert_eq!(
        pt.communication.phone.as_deref(),
        Some("5558662259"),
        "digits only"
    );
    let ph = t.pharmacy.as_ref().expect("pharmacy");
    assert_eq!(ph.ncpdp_id.as_deref(), Some("9999999"));
    assert_eq!(
        ph.business_name.as_deref(),
        Some("fhirgate Sandbox Pharmacy")
    );
    let pr = t.prescriber.as_ref().expect("prescriber");
    assert_eq!(pr.npi.as_deref(), Some("1234567893"));
    assert_eq!(pr.name.last.as_deref(), Some("Prescriber"));
    assert_eq!(
        pr.address.as_ref().and_then(|a| a.city.as_deref()),
        Some("Boston")
    );
    assert_eq!(
        t.benefits_coordination[0].cardholder_id.as_deref(),
        Some("SBX0000001")
    );
    let med = t.medication_prescribed.as_ref().expect("medication");
    assert_eq!(
        med.drug_description.as_deref(),
        Some("amlodipine 5 MG Oral Tablet")
    );
    let db = med.drug_db_code.as_ref().expect("RxNorm");
    assert_eq!(
        (db.code.as_str(), db.qualifier.as_deref()),
        ("197361", Some("SCD"))
    );
    let q = med.quantity.as_ref().expect("quantity");
    assert_eq!(q.value, "30");
    assert_eq!(
        q.unit_code.as_deref(),
        Some("C48542"),
        "UCUM {{tbl}} → NCI tablet"
    );
    assert_eq!(q.code_list_qualifier.as_deref(), Some("38"));
    assert_eq!(med.days_supply.as_deref(), Some("30"));
    assert_eq!(
        med.number_of_refills.as_deref(),
        Some("3"),
        "numberOfRepeatsAllowed 3 = 3 refills"
    );
    assert_eq!(med.substitutions.as_deref(), Some("0"));
    assert_eq!(med.written_date.as_deref(), Some("2024-01-15T09:30:00Z"));
    assert!(xml.contains("<WrittenDate><DateTime>2024-01-15T09:30:00Z</DateTime></WrittenDate>"));
    let sig = med.sig.as_ref().expect("sig");
    assert_eq!(
        sig.text.as_deref(),
        Some("Take 1 tablet by mouth once daily")
    );
    let i = &sig.instructions[0];
    assert_eq!(
        i.route.as_ref().and_then(|r| r.code.as_deref()),
        Some("26643006")
    );
    assert_eq!(i.dose_quantity.as_deref(), Some("1"));
    assert_eq!(
        i.dose_unit.as_ref().and_then(|u| u.code.as_deref()),
        Some("C48542")
    );
    assert_eq!(i.frequency.as_deref(), Some("1"));
    assert_eq!(
        i.frequency_unit.as_ref().and_then(|u| u.code.as_deref()),
        Some("258703001"),
        "SNOMED day"
    );
}

#[test]
fn sandbox_new_rx_maps_back_to_the_same_prescription() {
    let bundle = sandbox_bundle();
    let p = Prescription::from_bundle(&bundle).expect("prescription");
    let xml = medication_request_to_new_rx(&p, &header()).expect("NewRx");
    let back = message_to_fhir(
        &parse_message(xml.as_bytes()).expect("parse"),
        &InboundContext::default(),
    )
    .expect("fhir");
    let (orig, mr) = (&p.medication_request, &back[0]);
    assert_eq!(mr["authoredOn"], orig["authoredOn"]);
    for path in [
        &["dispenseRequest", "numberOfRepeatsAllowed"][..],
        &["dispenseRequest", "quantity", "value"],
        &["dispenseRequest", "expectedSupplyDuration", "value"],
        &["dispenseRequest", "expectedSupplyDuration", "code"],
        &["substitution", "allowedBoolean"],
    ] {
        let get = |v: &Value| {
            path.iter()
                .fold(v.clone(), |v, k| v[*k].clone())
                .to_string()
        };
        assert_eq!(get(mr), get(orig), "{path:?}");
    }
    assert_eq!(mr["dispenseRequest"]["quantity"]["code"], "C48542");
    assert_eq!(
        mr["dosageInstruction"][0]["text"],
        orig["dosageInstruction"][0]["text"]
    );
    let d = &mr["dosageInstruction"][0];
    assert_eq!(
        d["timing"]["repeat"],
        json!({"frequency": 1, "period": 1, "periodUnit": "d"})
    );
    assert_eq!(d["route"]["coding"][0]["code"], "26643006");
    assert_eq!(
        d["doseAndRate"][0]["doseQuantity"]["value"].to_string(),
        "1"
    );
    let med = back
        .iter()
        .find(|r| r["resourceType"] == "Medication")
        .expect("medication");
    assert_eq!(med["code"]["coding"][0]["code"], "197361");
    let patient = back
        .iter()
        .find(|r| r["resourceType"] == "Patient")
        .expect("patient");
    assert_eq!(patient["birthDate"], p.patient["birthDate"]);
    assert_eq!(patient["gender"], p.patient["gender"]);
    assert_eq!(patient["name"][0]["family"], p.patient["name"][0]["family"]);
    let cov = back
        .iter()
        .find(|r| r["resourceType"] == "Coverage")
        .expect("coverage");
    assert_eq!(cov["subscriberId"], "SBX0000001");
}

/// A parsed NewRx fixture → FHIR → a Prescription → NewRx → parsed again.
fn round_trip(file: &str) -> (Message, Message) {
    let bytes =
        std::fs::read(root().join("tests/fixtures/ncpdp-script").join(file)).expect("fixture");
    let first = parse_message(&bytes).expect("parse");
    let resources = message_to_fhir(&first, &InboundContext::default()).expect("to FHIR");
    let pairs: Vec<(Option<&str>, &Value)> = resources.iter().map(|r| (None, r)).collect();
    let p = Prescription::from_resources(&pairs).expect("prescription");
    let t = prescription_to_transaction(&p).expect("transaction");
    let xml = write_message(&header(), &Body::NewRx(Box::new(t)));
    (first, parse_message(xml.as_bytes()).expect("parse again"))
}

fn same_prescription(a: &MedicationData, b: &MedicationData, file: &str) {
    assert_eq!(a.drug_description, b.drug_description, "{file}: drug");
    assert_eq!(
        a.product_code.as_ref().map(|c| &c.code),
        b.product_code.as_ref().map(|c| &c.code),
        "{file}: NDC"
    );
    assert_eq!(
        a.quantity.as_ref().map(|q| (&q.value, &q.unit_code)),
        b.quantity.as_ref().map(|q| (&q.value, &q.unit_code)),
        "{file}: quantity + unit"
    );
    assert_eq!(a.days_supply, b.days_supply, "{file}: days supply");
    assert_eq!(
        a.number_of_refills.as_deref().or(Some("0")),
        b.number_of_refills.as_deref(),
        "{file}: refills"
    );
    assert_eq!(
        a.substitutions.as_deref().or(Some("0")),
        b.substitutions.as_deref(),
        "{file}: substitution"
    );
    assert_eq!(a.written_date, b.written_date, "{file}: written date");
    assert_eq!(a.note, b.note, "{file}: note");
    let (sa, sb) = (a.sig.as_ref().expect("sig"), b.sig.as_ref().expect("sig"));
    assert_eq!(sa.text, sb.text, "{file}: SigText");
    for (ia, ib) in sa.instructions.iter().zip(&sb.instructions) {
        let code =
            |c: &Option<fhirgate_mappings::ncpdp::SigCode>| c.as_ref().and_then(|c| c.code.clone());
        assert_eq!(code(&ia.route), code(&ib.route), "{file}: route");
        assert_eq!(code(&ia.site), code(&ib.site), "{file}: site");
        assert_eq!(
            code(&ia.dose_delivery_method),
            code(&ib.dose_delivery_method),
            "{file}: method"
        );
        assert_eq!(ia.dose_quantity, ib.dose_quantity, "{file}: dose");
        assert_eq!(
            code(&ia.dose_unit),
            code(&ib.dose_unit),
            "{file}: dose unit"
        );
    }
}

fn same_patient(a: &Option<PatientData>, b: &Option<PatientData>, file: &str) {
    let (a, b) = (a.as_ref().expect("patient"), b.as_ref().expect("patient"));
    assert_eq!(a.name, b.name, "{file}: patient name");
    assert_eq!(a.gender, b.gender, "{file}: gender");
    assert_eq!(a.birth_date, b.birth_date, "{file}: birth date");
    assert_eq!(a.address, b.address, "{file}: address");
}

#[test]
fn new_rx_fixtures_survive_fhir_and_back() {
    for file in [
        "NewRx_2017071_basic.xml",
        "NewRx_2017071_structured_sig.xml",
        "NewRx_no_namespace_no_version_REMS_isotretinoin.xml",
    ] {
        let (first, second) = round_trip(file);
        let (a, b) = (transaction(&first), transaction(&second));
        same_prescription(
            a.medication_prescribed.as_ref().expect("med"),
            b.medication_prescribed.as_ref().expect("med"),
            file,
        );
        if a.patient.is_some() {
            same_patient(&a.patient, &b.patient, file);
            assert_eq!(
                a.prescriber.as_ref().and_then(|p| p.npi.clone()),
                b.prescriber.as_ref().and_then(|p| p.npi.clone()),
                "{file}: prescriber NPI"
            );
            assert_eq!(
                a.prescriber.as_ref().map(|p| &p.name),
                b.prescriber.as_ref().map(|p| &p.name),
                "{file}"
            );
        }
    }
    let (first, second) = round_trip("NewRx_2017071_structured_sig.xml");
    let sig = |m: &Message| {
        transaction(m)
            .medication_prescribed
            .clone()
            .and_then(|x| x.sig)
            .expect("sig")
    };
    assert_eq!(sig(&second).instructions.len(), 1);
    assert_eq!(
        sig(&first).instructions[0]
            .dose_unit
            .as_ref()
            .and_then(|u| u.code.clone())
            .as_deref(),
        Some("C48542")
    );
}
