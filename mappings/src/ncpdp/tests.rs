//! Unit tests of the SCRIPT mappings (fixture-driven tests live in `mappings/tests/ncpdp*.rs`).

use serde_json::json;

use super::codes::{state_code, unit_of_quantity};
use super::fhir::npi_valid;
use super::number::{decimal, integer};
use super::*;

const NEW_RX: &str = r#"<Message xmlns="http://www.ncpdp.org/schema/SCRIPT" TransactionVersion="20170715">
<Header><To Qualifier="P">9999999</To><From Qualifier="C">fhirgate</From><MessageID>M-1</MessageID>
<SentTime>2026-01-15T09:30:00Z</SentTime><PrescriberOrderNumber>ORD-1</PrescriberOrderNumber></Header>
<Body><NewRx><Patient><HumanPatient><Name><LastName>Doe</LastName><FirstName>Ann</FirstName></Name>
<Gender>F</Gender><DateOfBirth><Date>1980-01-02</Date></DateOfBirth></HumanPatient></Patient>
<Pharmacy><Identification><NCPDPID>9999999</NCPDPID></Identification><BusinessName>P</BusinessName></Pharmacy>
<MedicationPrescribed><DrugDescription>amlodipine 5 MG Oral Tablet</DrugDescription>
<Quantity><Value>30</Value><CodeListQualifier>38</CodeListQualifier><QuantityUnitOfMeasure><Code>C48542</Code></QuantityUnitOfMeasure></Quantity>
<Sig><SigText>Take 1 tablet daily</SigText></Sig></MedicationPrescribed></NewRx></Body></Message>"#;

fn new_rx() -> Message {
    parse_message(NEW_RX.as_bytes()).expect("parses")
}

fn reply(m: &Message) -> Header {
    Header::reply_to(m, "R-1", "2026-01-15T09:31:00Z")
}

#[test]
fn reply_header_swaps_parties_and_relates_to_the_message() {
    let h = reply(&new_rx());
    assert_eq!(h.relates_to_message_id.as_deref(), Some("M-1"));
    assert_eq!(
        (h.to_ncpdp_id.as_str(), h.from_id.as_str()),
        ("fhirgate", "9999999")
    );
    assert_eq!(
        (h.to_qualifier.as_deref(), h.from_qualifier.as_deref()),
        (Some("C"), Some("P"))
    );
    assert_eq!(h.prescriber_order_number.as_deref(), Some("ORD-1"));
}

#[test]
fn status_error_and_verify_round_trip() {
    let m = new_rx();
    let s = parse_message(status(&reply(&m), "010", Some("Received & queued")).as_bytes())
        .expect("status");
    assert_eq!(s.header.relates_to_message_id.as_deref(), Some("M-1"));
    assert!(
        matches!(&s.body, Body::Status(b) if b.code == "010" && b.description.as_deref() == Some("Received & queued"))
    );
    let xml = error(&reply(&m), "900", Some("008"), "Missing: Patient.birthDate");
    assert!(
        xml.contains("<Error><Code>900</Code><DescriptionCode>008</DescriptionCode>"),
        "{xml}"
    );
    let e = parse_message(xml.as_bytes()).expect("error");
    assert_eq!(task_update(&e).expect("update").status, "failed");
    let v = parse_message(verify(&reply(&m)).as_bytes()).expect("verify");
    assert!(matches!(&v.body, Body::Verify(b) if b.code == "010"));
    assert!(error_is_transient("600") && !error_is_transient("900") && !error_is_transient("601"));
}

#[test]
fn rx_fill_repeats_the_prescription_and_dispenses_it() {
    let m = new_rx();
    let xml = rx_fill(&m, &reply(&m), &FillStatus::Dispensed { note: None }).expect("RxFill");
    let f = parse_message(xml.as_bytes()).expect("parse");
    let t = f.body.transaction().expect("t");
    assert_eq!(t.fill_status, Some(FillStatus::Dispensed { note: None }));
    let d = t.medication_dispensed.as_ref().expect("dispensed");
    assert_eq!(d.last_fill_date.as_deref(), Some("2026-01-15"));
    assert_eq!(d.quantity.as_ref().map(|q| q.value.as_str()), Some("30"));
    assert_eq!(
        t.patient.as_ref().and_then(|p| p.name.last.as_deref()),
        Some("Doe")
    );
    let ctx = InboundContext {
        medication_request: Some("MedicationRequest/9".into()),
        ..InboundContext::default()
    };
    let r = message_to_fhir(&f, &ctx).expect("fhir");
    assert_eq!(
        r[0]["authorizingPrescription"][0]["reference"],
        "MedicationRequest/9"
    );
    let none = rx_fill(
        &m,
        &reply(&m),
        &FillStatus::NotDispensed {
            note: Some("out of stock".into()),
        },
    )
    .expect("RxFill");
    let n = parse_message(none.as_bytes()).expect("parse");
    assert!(
        n.body
            .transaction()
            .expect("t")
            .medication_dispensed
            .is_none()
    );
    assert_eq!(task_update(&n).expect("u").status, "failed");
    let status_msg = parse_message(status(&reply(&m), "010", None).as_bytes()).expect("status");
    assert!(
        rx_fill(
            &status_msg,
            &reply(&m),
            &FillStatus::Dispensed { note: None }
        )
        .is_err()
    );
}

#[test]
fn renewal_and_change_responses_answer_their_request() {
    let renewal = NEW_RX.replace("NewRx>", "RxRenewalRequest>").replace(
        "<RxRenewalRequest>",
        "<RxRenewalRequest><RequestReferenceNumber>REF-7</RequestReferenceNumber>",
    );
    let req = parse_message(renewal.as_bytes()).expect("renewal");
    let task = json!({"resourceType": "Task", "status": "rejected",
        "statusReason": {"coding": [{"code": "AA"}], "text": "Patient unknown to the prescriber"}});
    let decision = decision_from_task(&task).expect("decided");
    let xml = rx_renewal_response(
        &req,
        &Header::reply_to(&req, "R-2", "2026-01-16T00:00:00Z"),
        &decision,
    )
    .expect("resp");
    let r = parse_message(xml.as_bytes()).expect("parse");
    let t = r.body.transaction().expect("t");
    assert!(matches!(r.body, Body::RxRenewalResponse(_)));
    assert_eq!(t.request_reference_number.as_deref(), Some("REF-7"));
    assert_eq!(
        t.response,
        Some(Response::Denied {
            reason_code: Some("AA".into()),
            reason: Some("Patient unknown to the prescriber".into())
        })
    );
    assert!(
        rx_change_response(&req, &reply(&req), &decision).is_err(),
        "not a change request"
    );
    assert_eq!(decision_from_task(&json!({"status": "requested"})), None);
    assert_eq!(
        decision_from_task(&json!({"status": "completed", "note": [{"text": "ok"}]})),
        Some(Response::Approved {
            note: Some("ok".into())
        })
    );
}

#[test]
fn decimals_and_integers_keep_their_text() {
    assert_eq!(
        decimal("30.000").map(|v| v.to_string()).as_deref(),
        Some("30.000")
    );
    assert_eq!(decimal(".5").map(|v| v.to_string()).as_deref(), Some("0.5"));
    assert_eq!(decimal("007").map(|v| v.to_string()).as_deref(), Some("7"));
    for bad in ["", "1e3", "abc", "1.", "-", "."] {
        assert_eq!(decimal(bad), None, "{bad}");
    }
    assert_eq!(integer("03").map(|v| v.to_string()).as_deref(), Some("3"));
    assert_eq!(integer("0").map(|v| v.to_string()).as_deref(), Some("0"));
    assert_eq!(integer("-1"), None);
    assert_eq!(integer("9999999999"), None);
}

#[test]
fn code_tables() {
    assert!(npi_valid("1234567893"));
    assert!(!npi_valid("1234567890") && !npi_valid("123") && !npi_valid("12345678a3"));
    assert_eq!(state_code("Massachusetts"), "MA");
    assert_eq!(state_code("ny"), "NY");
    assert_eq!(state_code("Westeros"), "Westeros");
    let nci = |q: serde_json::Value| unit_of_quantity(&q).map(|u| u.nci);
    assert_eq!(
        nci(json!({"system": "http://unitsofmeasure.org", "code": "{tbl}"})),
        Some("C48542")
    );
    assert_eq!(nci(json!({"unit": "Capsules"})), Some("C48480"));
    assert_eq!(
        nci(
            json!({"system": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "code": "C28254"})
        ),
        Some("C28254")
    );
    assert_eq!(
        nci(
            json!({"system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB", "unit": "TAB"})
        ),
        None
    );
}
