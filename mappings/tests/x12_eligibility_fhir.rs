//! FHIR ⇄ X12 eligibility (issue 8): CoverageEligibilityRequest + the seeded Synthea patient,
//! sandbox Coverage, payer and prescriber → 270 with every field asserted; the payer side
//! (CoverageEligibilityResponse → 271) and back to FHIR; demographic corrections; refusals.

mod x12_support;

use fhirgate_mappings::x12::eligibility::{
    self, AnswerResources, InquiryResources, ResponseContext, coverage_eligibility_request_to_270,
    coverage_eligibility_response_to_271, eligibility_271_to_coverage_eligibility_response,
    fhir_to_eligibility,
};
use fhirgate_mappings::x12::parse;
use serde_json::json;
use x12_support::*;

#[test]
fn seeded_patient_and_coverage_make_a_270() {
    let text = text_of(&buster_270(), "HS");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[2..].to_vec(),
        vec![
            "ST*270*0001*005010X279A1~",
            "BHT*0022*13*REF0001*20240430*0900~",
            "HL*1**20*1~",
            "NM1*PR*2*fhirgate Sandbox Payer*****PI*SANDBOXPAYER~",
            "HL*2*1*21*1~",
            "NM1*1P*1*Prescriber*Sandra****XX*1234567893~",
            "HL*3*2*22*0~",
            "TRN*1*TRACE-0001*9FHIRGATE0~",
            "NM1*IL*1*Hoeger*Buster****MI*SBX0000001~",
            "DMG*D8*19880316*M~",
            "DTP*291*D8*20240501~",
            "EQ*98~",
            "SE*13*0001~",
            "GE*1*7~",
            "IEA*1*000000007~",
        ]
    );
    let doc = parse(text.as_bytes()).expect("reads back");
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    let back = eligibility::read(doc.transactions().next().expect("270")).expect("270");
    assert_eq!(back, vec![buster_270()]);
}

#[test]
fn a_dependent_gets_the_2000d_loop() {
    let e = dependent_270();
    let text = text_of(&e, "HS");
    for expected in [
        "HL*3*2*22*1~",
        "NM1*IL*1*Conn*Liz****MI*SBX0000002~",
        "REF*6P*GRP-77~",
        "DMG*D8*19861128*F~",
        "HL*4*3*23*0~",
        "TRN*1*TRACE-0001*9FHIRGATE0~",
        "NM1*03*1*Hoeger*Buster~",
        "INS*N*01~",
        "EQ*30~",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    let trn = text.find("TRN").expect("trn");
    assert!(
        trn > text.find("HL*4").expect("hl4"),
        "the trace belongs to the patient's loop"
    );
}

#[test]
fn what_a_270_cannot_carry_is_refused_with_the_element_named() {
    let payer = sandbox("Organization", "sandbox-payer");
    let doc = sandbox("Practitioner", "sandbox-prescriber");
    let patient = buster();
    let cov = sandbox("Coverage", "sandbox-coverage-buster");
    let req = request(BUSTER, "30");
    let no_subscriber_id = fhir_r4("coverage-example");
    let no_npi = fhir_r4("practitioner-example");
    let mut bad_npi = doc.clone();
    bad_npi["identifier"][0]["value"] = json!("1234567890");
    let mut bad_category = req.clone();
    bad_category["item"][0]["category"] =
        json!({"coding": [{"system": "http://example.org/x", "code": "30"}]});
    let cases: [(InquiryResources<'_>, &str); 4] = [
        (
            InquiryResources {
                request: &req,
                patient: &patient,
                coverage: &no_subscriber_id,
                subscriber: None,
                insurer: &payer,
                provider: &doc,
            },
            "Coverage.subscriberId",
        ),
        (
            InquiryResources {
                request: &req,
                patient: &patient,
                coverage: &cov,
                subscriber: None,
                insurer: &payer,
                provider: &no_npi,
            },
            "NPI",
        ),
        (
            InquiryResources {
                request: &req,
                patient: &patient,
                coverage: &cov,
                subscriber: None,
                insurer: &payer,
                provider: &bad_npi,
            },
            "check digit",
        ),
        (
            InquiryResources {
                request: &bad_category,
                patient: &patient,
                coverage: &cov,
                subscriber: None,
                insurer: &payer,
                provider: &doc,
            },
            "item[0].category",
        ),
    ];
    for (r, expected) in cases {
        let err = coverage_eligibility_request_to_270(&r, &control())
            .expect_err(expected)
            .to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

fn context(sent: Option<eligibility::Eligibility>) -> ResponseContext {
    ResponseContext {
        id: None,
        patient: json!({"reference": format!("Patient/{BUSTER}")}),
        coverage: json!({"reference": "Coverage/sandbox-coverage-buster"}),
        insurer: Some(json!({"reference": "Organization/sandbox-payer"})),
        requestor: Some(json!({"reference": "Practitioner/sandbox-prescriber"})),
        request: None,
        created: Some("2024-04-30T09:00:01Z".into()),
        purpose: vec!["benefits".into()],
        serviced: Some(("servicedDate".into(), json!("2024-05-01"))),
        sent,
    }
}

#[test]
fn a_payer_answer_travels_as_a_271_and_back() {
    let inquiry = buster_270();
    let (answer, cov, payer) = (
        payer_answer(),
        sandbox("Coverage", "sandbox-coverage-buster"),
        sandbox("Organization", "sandbox-payer"),
    );
    let a = coverage_eligibility_response_to_271(&AnswerResources {
        response: &answer,
        coverage: Some(&cov),
        member: Some(&buster()),
        insurer: Some(&payer),
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271");
    let text = text_of(&a, "HB");
    for expected in [
        "BHT*0022*11*REF0001*20240430*0900~",
        "TRN*2*TRACE-0001*9FHIRGATE0~",
        "NM1*IL*1*Hoeger*Buster****MI*SBX0000001~",
        "DTP*346*D8*20190101~",
        "EB*1**30~",
        "EB*B*IND*98***27*25.00*****Y~",
        "EB*C*IND*30***23*1500.00~",
        "EB*A*IND*30***23**0.20~",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    assert!(
        !text.contains("INS*"),
        "no correction when the records agree:\n{text}"
    );
    let doc = parse(text.as_bytes()).expect("271 reads");
    let back = &eligibility::read(doc.transactions().next().expect("271")).expect("reads")[0];
    let m = eligibility_271_to_coverage_eligibility_response(back, &context(Some(inquiry)))
        .expect("maps");
    let r = &m.response;
    assert_eq!(r["outcome"], "complete");
    assert_eq!(r["identifier"][0]["value"], "TRACE-0001");
    assert_eq!(r["servicedDate"], "2024-05-01");
    assert_eq!(r["insurance"][0]["inforce"], true);
    let items = r["insurance"][0]["item"].as_array().expect("items");
    let copay = items
        .iter()
        .find(|i| i["benefit"][0]["type"]["coding"][1]["code"] == "copay")
        .expect("copay");
    assert_eq!(
        copay["benefit"][0]["allowedMoney"]["value"].to_string(),
        "25.00"
    );
    assert_eq!(copay["category"]["coding"][0]["code"], "98");
    let deductible = items
        .iter()
        .find(|i| i["benefit"][0]["type"]["coding"][1]["code"] == "deductible")
        .expect("deductible");
    assert_eq!(
        deductible["benefit"][0]["allowedMoney"]["value"].to_string(),
        "1500.00"
    );
    assert_eq!(deductible["term"]["coding"][1]["code"], "annual");
    let coins = items
        .iter()
        .find(|i| i["benefit"][0]["type"]["coding"][0]["code"] == "A")
        .expect("coinsurance");
    assert_eq!(coins["benefit"][0]["allowedUnsignedInt"], 20);
    assert!(m.corrections.is_empty(), "{:?}", m.corrections);
}

#[test]
fn a_payer_record_that_differs_is_a_demographic_correction() {
    let inquiry = buster_270();
    let mut record = buster();
    record["birthDate"] = json!("1988-03-17");
    let answer = payer_answer();
    let a = coverage_eligibility_response_to_271(&AnswerResources {
        response: &answer,
        coverage: None,
        member: Some(&record),
        insurer: None,
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271");
    let text = text_of(&a, "HB");
    assert!(
        text.contains("DMG*D8*19880317*M~\nINS*Y*18*001*25~"),
        "{text}"
    );
    let doc = parse(text.as_bytes()).expect("reads");
    let back = &eligibility::read(doc.transactions().next().expect("271")).expect("reads")[0];
    let m = eligibility_271_to_coverage_eligibility_response(back, &context(Some(inquiry)))
        .expect("maps");
    assert_eq!(m.corrections.len(), 1);
    assert_eq!(
        (
            m.corrections[0].element,
            m.corrections[0].sent.as_str(),
            m.corrections[0].payer.as_str()
        ),
        ("birthDate", "1988-03-16", "1988-03-17")
    );
    assert!(
        m.response["disposition"]
            .as_str()
            .expect("text")
            .contains("The payer's record differs: birthDate is \"1988-03-17\"")
    );
    assert_eq!(m.member.expect("member")["birthDate"], "1988-03-17");
}

#[test]
fn an_unknown_member_answer_is_an_aaa_in_2100c() {
    let inquiry = buster_270();
    let answer = json!({"resourceType": "CoverageEligibilityResponse", "status": "active", "purpose": ["benefits"],
        "patient": {"reference": "Patient/x"}, "created": "2024-04-30", "request": {"display": "270"}, "outcome": "error",
        "insurer": {"reference": "Organization/sandbox-payer"},
        "error": [{"code": {"coding": [{"system": "https://codesystem.x12.org/005010/901", "code": "75"}, {"system": "https://codesystem.x12.org/005010/889", "code": "C"}]}}]});
    let a = coverage_eligibility_response_to_271(&AnswerResources {
        response: &answer,
        coverage: None,
        member: None,
        insurer: None,
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271");
    let text = text_of(&a, "HB");
    assert!(
        text.contains("NM1*IL*1*Hoeger*Buster****MI*SBX0000001~\nAAA*Y**75*C~"),
        "{text}"
    );
    assert!(!text.contains("EB*"), "{text}");
    let doc = parse(text.as_bytes()).expect("reads");
    let back = &eligibility::read(doc.transactions().next().expect("271")).expect("reads")[0];
    let m = eligibility_271_to_coverage_eligibility_response(back, &context(None)).expect("maps");
    assert_eq!(m.response["outcome"], "error");
    assert_eq!(m.response["error"][0]["code"]["coding"][0]["code"], "75");
    assert_eq!(
        m.response["error"][0]["code"]["text"],
        "Subscriber/Insured Not Found (75) (loop 2100C); follow-up: Please Correct and Resubmit (C)"
    );
}

#[test]
fn bundles_map_to_x12_and_a_non_usd_amount_is_refused() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:req", "resource": request(BUSTER, "98")},
        {"resource": buster()},
        {"resource": sandbox("Coverage", "sandbox-coverage-buster")},
        {"resource": sandbox("Organization", "sandbox-payer")},
        {"resource": sandbox("Practitioner", "sandbox-prescriber")},
    ]});
    let e = fhir_to_eligibility(&bundle, &control()).expect("270 from a bundle");
    assert_eq!(e, buster_270());
    let mut example = fhir_r4("coverageeligibilityresponse-example-benefits");
    example["patient"] = json!({"reference": format!("Patient/{BUSTER}")});
    example["insurer"] = json!({"reference": "Organization/sandbox-payer"});
    example["requestor"] = json!({"reference": "Practitioner/sandbox-prescriber"});
    example["insurance"][0]["coverage"] = json!({"reference": "Coverage/sandbox-coverage-buster"});
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": example}, {"resource": buster()}, {"resource": sandbox("Coverage", "sandbox-coverage-buster")},
        {"resource": sandbox("Organization", "sandbox-payer")}, {"resource": sandbox("Practitioner", "sandbox-prescriber")},
    ]});
    let err = fhir_to_eligibility(&bundle, &control())
        .expect_err("SAR")
        .to_string();
    assert!(err.contains("SAR") && err.contains("US dollars"), "{err}");
}
