//! Every X12 fixture reads (issue 8): envelope mismatches are warnings, not failures; the
//! 270 and 271s map to FHIR with their values asserted; malformed envelopes are clear errors.

use std::path::{Path, PathBuf};

use fhirgate_mappings::x12::eligibility::{self, ResponseContext};
use fhirgate_mappings::x12::{Delimiters, Document, Segment, parse};
use serde_json::{Value, json};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/x12")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn doc(name: &str) -> Document {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_parses_with_its_transaction_sets() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir()).expect("fixture dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let d =
            parse(&std::fs::read(&path).expect("read")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids: Vec<&str> = d.transactions().map(|t| t.id()).collect();
        assert_eq!(ids.len(), 1, "{name}");
        seen.push((name, ids[0].to_owned(), d.warnings.clone()));
    }
    seen.sort();
    let summary: Vec<(&str, &str, usize)> = seen
        .iter()
        .map(|(n, id, w)| (n.as_str(), id.as_str(), w.len()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "270_005010X279A1_subscriber_eligibility_inquiry.x12",
                "270",
                0
            ),
            ("271_005010X279A1_AAA_rejection.x12", "271", 1),
            (
                "271_005010X279A1_subscriber_eligibility_response.x12",
                "271",
                0
            ),
            ("835_005010X221A1_managed_care_remittance.x12", "835", 0),
            ("837P_005010X222A2_professional_claim.x12", "837", 0),
        ]
    );
    let aaa = &seen[1].2[0];
    assert!(
        aaa.contains("SE02 is \"4323\" but ST02 is \"4321\""),
        "{aaa}"
    );
}

#[test]
fn fixture_envelopes_and_delimiters_are_read_from_the_isa() {
    let d = doc("271_005010X279A1_subscriber_eligibility_response.x12");
    let t = d.transactions().next().expect("271");
    assert_eq!(t.interchange.control_number(), "000000907");
    assert_eq!(t.interchange.sender_id(), "000000005");
    assert_eq!(t.interchange.receiver_id(), "12345");
    assert_eq!(t.interchange.delimiters.repetition, Some(b'^'));
    assert_eq!(t.group.gs.get(8), "005010X279A1");
    assert_eq!(t.control_number(), "4321");
    assert_eq!(t.body.len(), 20);
    let eb = t
        .body
        .iter()
        .filter(|s| s.id == "EB")
        .nth(2)
        .expect("third EB");
    assert_eq!(
        eb.repeats(3),
        vec!["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]
    );
}

#[test]
fn the_270_reads_into_its_loops() {
    let d = doc("270_005010X279A1_subscriber_eligibility_inquiry.x12");
    let all = eligibility::read(d.transactions().next().expect("270")).expect("270 reads");
    assert_eq!(all.len(), 1);
    let e = &all[0];
    assert_eq!(
        (e.purpose.as_str(), e.reference.as_str(), e.date.as_str()),
        ("13", "10001234", "20060501")
    );
    assert_eq!(
        (e.source.entity_code.as_str(), e.source.id.as_str()),
        ("PR", "842610001")
    );
    let r = e.receiver.as_ref().expect("2100B");
    assert_eq!(
        (
            r.last_or_org.as_str(),
            r.id_qualifier.as_str(),
            r.id.as_str()
        ),
        ("BONE AND JOINT CLINIC", "SV", "2000035")
    );
    let s = e.subscriber.as_ref().expect("2100C");
    assert_eq!(
        (
            s.name.last_or_org.as_str(),
            s.name.first.as_str(),
            s.name.id.as_str()
        ),
        ("SMITH", "ROBERT", "11122333301")
    );
    assert_eq!(s.birth_date, "19430519");
    assert_eq!(s.traces[0].number, "93175-012547");
    assert_eq!(s.dates[0].qualifier, "291");
    assert_eq!(s.inquiries[0].service_types, vec!["30"]);
    assert!(e.dependent.is_none());
}

#[test]
fn the_270_writes_back_segment_for_segment() {
    let d = doc("270_005010X279A1_subscriber_eligibility_inquiry.x12");
    let t = d.transactions().next().expect("270");
    let e = &eligibility::read(t).expect("reads")[0];
    let written = eligibility::write(e, "1234").expect("writes");
    let text = |segments: &[Segment]| {
        let mut out = Vec::new();
        for s in segments {
            s.write(&Delimiters::DEFAULT, &mut out).expect("writes");
            out.push(b'\n');
        }
        String::from_utf8(out).expect("ascii")
    };
    let original = String::from_utf8(fixture(
        "270_005010X279A1_subscriber_eligibility_inquiry.x12",
    ))
    .expect("ascii");
    let st_to_se: String = original
        .lines()
        .skip(2)
        .take(13)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(text(&written), st_to_se);
}

fn response_context() -> ResponseContext {
    ResponseContext {
        id: Some("r1".into()),
        patient: json!({"reference": "Patient/p1"}),
        coverage: json!({"reference": "Coverage/c1"}),
        insurer: Some(json!({"reference": "Organization/payer"})),
        requestor: None,
        request: None,
        created: Some("2024-05-01T10:00:00Z".into()),
        purpose: vec!["benefits".into()],
        serviced: None,
        sent: None,
    }
}

#[test]
fn the_271_maps_benefits_amounts_levels_and_network() {
    let d = doc("271_005010X279A1_subscriber_eligibility_response.x12");
    let e = &eligibility::read(d.transactions().next().expect("271")).expect("reads")[0];
    let m = eligibility::eligibility_271_to_coverage_eligibility_response(e, &response_context())
        .expect("maps");
    let r = &m.response;
    assert_eq!(r["resourceType"], "CoverageEligibilityResponse");
    assert_eq!(r["outcome"], "complete");
    assert_eq!(r["patient"]["reference"], "Patient/p1");
    assert_eq!(r["request"]["identifier"]["value"], "93175-012547");
    assert_eq!(r["disposition"], "Active coverage: GOLD 123 PLAN");
    assert!(r.get("error").is_none());
    let ins = &r["insurance"][0];
    assert_eq!(ins["coverage"]["reference"], "Coverage/c1");
    assert_eq!(ins["inforce"], true);
    assert_eq!(ins["benefitPeriod"]["start"], "2006-01-01");
    let items = ins["item"].as_array().expect("items");
    // EB*1 (30), EB*L (no EB03), EB*1 (10 codes), EB*B ×2 (10 codes each)
    assert_eq!(items.len(), 1 + 1 + 10 + 10 + 10);
    assert_eq!(items[0]["category"]["coding"][0]["code"], "30");
    assert_eq!(
        items[0]["category"]["coding"][0]["system"],
        "https://codesystem.x12.org/005010/1365"
    );
    assert_eq!(items[0]["name"], "GOLD 123 PLAN");
    assert_eq!(items[0]["benefit"][0]["type"]["coding"][0]["code"], "1");
    assert_eq!(
        items[0]["benefit"][0]["type"]["coding"][0]["display"],
        "Active Coverage"
    );
    let pcp = &items[1];
    assert_eq!(
        pcp["benefit"][0]["type"]["coding"][0]["display"],
        "Primary Care Provider"
    );
    assert_eq!(pcp["provider"]["display"], "MARCUS JONES");
    assert_eq!(pcp["provider"]["identifier"]["value"], "0202034");
    let copays: Vec<&Value> = items
        .iter()
        .filter(|i| i["benefit"][0]["type"]["coding"][0]["code"] == "B")
        .collect();
    assert_eq!(copays.len(), 20);
    let in_net = copays
        .iter()
        .find(|i| {
            i["category"]["coding"][0]["code"] == "98" && i["network"]["coding"][1]["code"] == "in"
        })
        .expect("in-network office visit copay");
    assert_eq!(
        in_net["benefit"][0]["allowedMoney"]["value"].to_string(),
        "10.00"
    );
    assert_eq!(in_net["benefit"][0]["allowedMoney"]["currency"], "USD");
    assert_eq!(in_net["benefit"][0]["type"]["coding"][1]["code"], "copay");
    assert_eq!(in_net["term"]["coding"][0]["code"], "27");
    assert_eq!(in_net["term"]["coding"][0]["display"], "Visit");
    let out_net = copays
        .iter()
        .find(|i| {
            i["category"]["coding"][0]["code"] == "98" && i["network"]["coding"][1]["code"] == "out"
        })
        .expect("out-of-network");
    assert_eq!(
        out_net["benefit"][0]["allowedMoney"]["value"].to_string(),
        "30.00"
    );
    let c = m.coverage.expect("coverage");
    assert_eq!(c["subscriberId"], "123456789");
    assert_eq!(c["type"]["coding"][0]["code"], "HM");
    assert_eq!(
        c["type"]["coding"][0]["display"],
        "Health Maintenance Organization (HMO)"
    );
    assert_eq!(c["class"][0]["value"], "GOLD 123 PLAN");
    assert_eq!(c["period"]["start"], "2006-01-01");
    let member = m.member.expect("member");
    assert_eq!(member["birthDate"], "1963-05-19");
    assert_eq!(member["gender"], "male");
    assert_eq!(member["address"][0]["city"], "KANSAS CITY");
}

#[test]
fn the_aaa_271_is_an_error_outcome_with_reason_and_follow_up() {
    let d = doc("271_005010X279A1_AAA_rejection.x12");
    assert_eq!(d.warnings.len(), 1);
    let e = &eligibility::read(d.transactions().next().expect("271")).expect("reads")[0];
    assert!(e.subscriber.is_none());
    let m = eligibility::eligibility_271_to_coverage_eligibility_response(e, &response_context())
        .expect("maps");
    let r = &m.response;
    assert_eq!(r["outcome"], "error");
    assert!(r.get("insurance").is_none());
    assert!(m.coverage.is_none());
    let err = &r["error"][0]["code"];
    assert_eq!(
        err["coding"][0]["system"],
        "https://codesystem.x12.org/005010/901"
    );
    assert_eq!(err["coding"][0]["code"], "50");
    assert_eq!(
        err["coding"][0]["display"],
        "Provider Ineligible for Inquiries"
    );
    assert_eq!(
        err["coding"][1]["system"],
        "https://codesystem.x12.org/005010/889"
    );
    assert_eq!(err["coding"][1]["code"], "N");
    assert_eq!(
        err["text"],
        "Provider Ineligible for Inquiries (50) (loop 2100B); follow-up: Resubmission Not Allowed (N)"
    );
    assert_eq!(
        r["disposition"],
        "Rejected: Provider Ineligible for Inquiries (50)"
    );
}

#[test]
fn malformed_envelopes_are_clear_errors() {
    let isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~";
    let gs = "GS*HS*A*B*20240101*1200*1*X*005010X279A1~";
    let cases = [
        (format!("{isa}{gs}ST*270*0001~BHT*0022*13~"), "no SE"),
        (
            format!("{isa}{gs}ST*270*0001~BHT*0022*13~GE*1*1~IEA*1*000000001~"),
            "has no SE before GE",
        ),
        (format!("{isa}{gs}GE*0*1~"), "no IEA"),
        (
            format!("{isa}ST*270*0001~SE*2*0001~IEA*1*000000001~"),
            "outside a functional group",
        ),
        (
            format!("{isa}{gs}BHT*0022~GE*0*1~IEA*1*000000001~"),
            "outside a transaction set",
        ),
        ("GS*HS*A~".to_owned(), "does not start with an ISA"),
        (isa.replace('~', "*"), "ISA"),
        ("not x12 at all".to_owned(), "does not start with an ISA"),
    ];
    for (text, expected) in cases {
        let err = parse(text.as_bytes()).expect_err(&text).to_string();
        assert!(err.contains(expected), "{text}\n→ {err}");
    }
}

#[test]
fn count_and_control_number_mismatches_are_warnings() {
    let isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~";
    let text = format!(
        "{isa}GS*HS*A*B*20240101*1200*7*X*005010X279A1~ST*270*0001*005010X279A1~BHT*0022*13~SE*9*0002~GE*2*8~IEA*3*000000009~"
    );
    let d = parse(text.as_bytes()).expect("parses");
    assert_eq!(d.transactions().count(), 1);
    let w = d.warnings.join("\n");
    for expected in [
        "SE01 is \"9\"",
        "SE02 is \"0002\"",
        "GE01 is \"2\"",
        "GE02 is \"8\"",
        "IEA01 is \"3\"",
        "IEA02 is \"000000009\"",
    ] {
        assert!(w.contains(expected), "{expected} in\n{w}");
    }
}
