//! Never panic on any input: every fixture truncated at every byte, mutated bytes, garbage,
//! deep nesting, DTDs, wrong roots and namespaces all end in `Ok` or a `MappingError`, and
//! whatever parses also maps to FHIR and a Task update without panicking.

mod ncpdp_support;

use fhirgate_mappings::MappingError;
use fhirgate_mappings::ncpdp::{InboundContext, message_to_fhir, parse_message, task_update};
use ncpdp_support::{script_fixture, script_fixtures};

/// Parses, and maps whatever parses; panics propagate and fail the test.
fn exercise(bytes: &[u8]) -> Result<(), MappingError> {
    let m = parse_message(bytes)?;
    let _ = task_update(&m);
    let _ = message_to_fhir(&m, &InboundContext::default());
    Ok(())
}

#[test]
fn every_truncation_of_every_fixture_is_an_error_not_a_panic() {
    let mut checked = 0;
    for (name, bytes) in script_fixtures() {
        let end = bytes.iter().rposition(|b| *b == b'>').expect("closing tag");
        for cut in 0..end {
            let r = exercise(&bytes[..cut]);
            assert!(r.is_err(), "{name} cut at {cut} of {} parsed", bytes.len());
            checked += 1;
        }
    }
    assert!(checked > 20_000, "{checked}");
}

#[test]
fn truncated_message_names_the_position() {
    let bytes = script_fixture("NewRx_2017071_basic.xml");
    match parse_message(&bytes[..700]) {
        Err(MappingError::Xml {
            position, detail, ..
        }) => {
            assert!(position > 0 && position <= 700, "{position}");
            assert!(!detail.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mutated_bytes_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let specials = [
        b'<', b'>', b'&', b'/', b'"', b'\'', b';', 0, 0xFF, b'#', b'x', b':',
    ];
    for (_, bytes) in script_fixtures() {
        for _ in 0..400 {
            let mut m = bytes.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() % m.len() as u64) as usize;
                m[at] = specials[(next() % specials.len() as u64) as usize];
            }
            let _ = exercise(&m);
        }
    }
}

#[test]
fn garbage_and_hostile_documents_are_refused() {
    let deep = format!(
        "<Message><Header><MessageID>1</MessageID></Header><Body>{}</Body></Message>",
        "<a>".repeat(200)
    );
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Message><Header><MessageID>&b;</MessageID></Header></Message>"#;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("whitespace", b"   \n ".to_vec()),
        ("not xml", b"MSH|^~\\&|not xml".to_vec()),
        ("json", br#"{"resourceType":"MedicationRequest"}"#.to_vec()),
        ("binary", (0u8..=255).collect()),
        ("invalid utf-8 text", b"<Message><Header><MessageID>\xff\xfe</MessageID></Header><Body><Status><Code>010</Code></Status></Body></Message>".to_vec()),
        ("deep", deep.into_bytes()),
        ("dtd entity expansion", bomb.as_bytes().to_vec()),
        ("unknown entity", b"<Message><Header><MessageID>&nope;</MessageID></Header></Message>".to_vec()),
        ("mismatched tags", b"<Message><Header></Body></Message>".to_vec()),
        ("two roots", b"<Message/><Message/>".to_vec()),
        ("wrong root", b"<NewRx><Header><MessageID>1</MessageID></Header></NewRx>".to_vec()),
        ("wrong namespace", b"<Message xmlns=\"urn:hl7-org:v3\"><Header><MessageID>1</MessageID></Header><Body><Status><Code>010</Code></Status></Body></Message>".to_vec()),
        ("no MessageID", b"<Message><Header/><Body><Status><Code>010</Code></Status></Body></Message>".to_vec()),
        ("no Body", b"<Message><Header><MessageID>1</MessageID></Header></Message>".to_vec()),
        ("unknown transaction", b"<Message><Header><MessageID>1</MessageID></Header><Body><Census/></Body></Message>".to_vec()),
        ("status without code", b"<Message><Header><MessageID>1</MessageID></Header><Body><Status/></Body></Message>".to_vec()),
        ("other version", b"<Message TransactionVersion=\"20190715\"><Header><MessageID>1</MessageID></Header><Body><Status><Code>010</Code></Status></Body></Message>".to_vec()),
    ];
    for (what, bytes) in cases {
        let r = exercise(&bytes);
        assert!(r.is_err(), "{what} was accepted");
        let e = r.expect_err("err").to_string();
        assert!(!e.is_empty(), "{what}");
        if what == "other version" {
            assert!(e.contains("20190715") && e.contains("2017071"), "{e}");
        }
    }
}

#[test]
fn minimal_and_oddly_shaped_messages_parse_without_panicking() {
    let cases: &[&[u8]] = &[
        b"<Message><Header><MessageID>1</MessageID></Header><Body><NewRx/></Body></Message>",
        b"<Message><Header><MessageID>1</MessageID></Header><Body><RxFill><FillStatus/></RxFill></Body></Message>",
        b"<s:Message xmlns:s=\"http://www.ncpdp.org/schema/SCRIPT\"><s:Header><s:MessageID>1</s:MessageID></s:Header><s:Body><s:Status><s:Code>010</s:Code></s:Status></s:Body></s:Message>",
        b"<Message><Header><MessageID>1</MessageID></Header><Body><NewRx><MedicationPrescribed><Quantity><Value>abc</Value></Quantity><DaysSupply>-3</DaysSupply><NumberOfRefills>99999999999999999999</NumberOfRefills><Sig><Instruction><DoseAdministration><Dosage><DoseQuantity>1e9</DoseQuantity></Dosage></DoseAdministration></Instruction></Sig></MedicationPrescribed></NewRx></Body></Message>",
        b"<Message><Header><MessageID><![CDATA[id-<1>]]></MessageID></Header><Body><Verify><VerifyStatus><Code>&#x30;10</Code></VerifyStatus></Verify></Body></Message>",
    ];
    for c in cases {
        let m = parse_message(c).expect("parses");
        let _ = task_update(&m);
        let _ = message_to_fhir(&m, &InboundContext::default());
    }
    let m = parse_message(cases[4]).expect("parses");
    assert_eq!(m.header.message_id, "id-<1>");
    assert_eq!(
        task_update(&m).expect("verify").business_status["coding"][0]["code"],
        "verify-010"
    );
    let odd = message_to_fhir(
        &parse_message(cases[3]).expect("parses"),
        &InboundContext::default(),
    )
    .expect("maps");
    let dr = &odd[0]["dispenseRequest"];
    assert!(
        dr["quantity"].is_null()
            && dr["expectedSupplyDuration"].is_null()
            && dr["numberOfRepeatsAllowed"].is_null(),
        "{dr}"
    );
}
