//! Unit tests of the HL7 v2 reader, writer, escapes, times and ACKs.

use super::escape::{decode, encode};
use super::time::{Dtm, fhir_to_dtm};
use super::*;

fn tz(name: &str) -> jiff::tz::TimeZone {
    crate::wearables::time::zone(name).expect("zone")
}

#[test]
fn escapes_decode_per_v251_2_7() {
    let d = Delimiters::default();
    assert_eq!(decode(r"A\F\B\S\C\T\D\R\E\E\", &d), r"A|B^C&D~E\");
    assert_eq!(decode(r"caf\XC3A9\ \X41\", &d), "café A");
    assert_eq!(
        decode(r"\XE9\t\X0D0A\", &d),
        "ét\r\n",
        "not UTF-8 → ISO-8859-1"
    );
    assert_eq!(decode(r"line\.br\two", &d), "line\ntwo");
    assert_eq!(decode(r"\H\bold\N\", &d), "bold");
    assert_eq!(decode(r"keep \Zabc\ and \Xz\", &d), r"keep \Zabc\ and \Xz\");
    assert_eq!(decode(r"open \F", &d), r"open \F", "unterminated kept");
    let custom = Delimiters {
        field: '#',
        component: '$',
        repetition: '*',
        escape: Some('!'),
        subcomponent: Some('@'),
    };
    assert_eq!(decode("a!F!b!S!c!E!", &custom), "a#b$c!");
}

#[test]
fn encode_then_decode_round_trips_every_delimiter_and_line_break() {
    let text = "R&D | 50% ^ up ~ down \\ path\r\nnext é";
    let enc = encode(text);
    assert!(!enc.contains(['|', '^', '~', '&', '\r', '\n']));
    assert_eq!(enc.matches('\\').count() % 2, 0);
    assert_eq!(decode(&enc, &Delimiters::default()), text);
}

#[test]
fn parse_reads_delimiters_fields_repetitions_components_and_nulls() {
    let msg = parse(b"MSH|^~\\&|APP|FAC|||20240101||ADT^A08|1|P|2.5.1\rPID|1||A^^^X&1.2&ISO^MR~B||\"\"||19700101|F|||a&b^^c\r").expect("parse");
    assert_eq!(msg.message_code(), "ADT");
    assert_eq!(msg.trigger_event(), "A08");
    assert_eq!(msg.version().as_deref(), Some("2.5.1"));
    let msh = msg.msh();
    assert_eq!(msh.field(1).raw(), "|");
    assert_eq!(msh.field(2).text().as_deref(), Some("^~\\&"));
    let pid = msg.segment("PID").expect("pid");
    let reps: Vec<_> = pid.field(3).repetitions().collect();
    assert_eq!(reps.len(), 2);
    assert_eq!(
        reps[0].component(4).subcomponent(2).text().as_deref(),
        Some("1.2")
    );
    assert_eq!(reps[1].text().as_deref(), Some("B"));
    assert!(pid.field(5).is_null() && pid.field(5).text().is_none());
    assert!(pid.field(6).is_empty() && !pid.field(6).is_null());
    assert_eq!(
        pid.field(11).component(1).subcomponent(2).text().as_deref(),
        Some("b")
    );
    assert_eq!(pid.field(99).text(), None);
    assert_eq!(pid.field(4).repetitions().count(), 0);
}

#[test]
fn parse_accepts_other_delimiters_latin1_and_mllp_framing() {
    let msg = parse(b"\x0bMSH#$*!@#A#B#C#D#2024##ADT$A04#9#P#2.4###########8859/1\rPID#1##X$$$NS##Jos\xe9\r\x1c\r").expect("parse");
    assert_eq!(msg.delimiters().field, '#');
    assert_eq!(msg.message_code(), "ADT");
    let pid = msg.segment("PID").expect("pid");
    assert_eq!(pid.field(3).component(4).text().as_deref(), Some("NS"));
    assert_eq!(pid.field(5).text().as_deref(), Some("José"));
}

#[test]
fn parse_refuses_what_is_not_a_message() {
    for bad in [
        &b""[..],
        b"PID|1",
        b"MSH",
        b"MSH|",
        b"MSH|^",
        b"MSH|^^~\\&|",
        b"MSHa^~\\&|",
        b"MSH|^~\\&|A\rpid|1",
        b"MSH|^~\\&|A\rMSH|^~\\&|B",
        b"MSH|^~\\&|A\r\xff\xfe",
    ] {
        assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn dtm_keeps_offsets_exactly_and_adds_seconds() {
    let t = |s: &str| Dtm::parse(s).expect(s);
    assert_eq!(
        t("198808181126+0215").to_date_time(None).as_deref(),
        Some("1988-08-18T11:26:00+02:15")
    );
    assert_eq!(
        t("2014100606+0000").to_date_time(None).as_deref(),
        Some("2014-10-06T06:00:00+00:00")
    );
    assert_eq!(
        t("20141006062700.1234-0330").to_date_time(None).as_deref(),
        Some("2014-10-06T06:27:00.1234-03:30")
    );
    assert_eq!(t("2014").to_date_time(None).as_deref(), Some("2014"));
    assert_eq!(t("201410").to_date_time(None).as_deref(), Some("2014-10"));
    assert_eq!(
        t("20190423140000").to_date_time(None),
        None,
        "floating, no zone"
    );
    assert_eq!(t("20190423140000").to_date(), "2019-04-23");
    let ny = tz("America/New_York");
    assert_eq!(
        t("20190423140000").to_date_time(Some(&ny)).as_deref(),
        Some("2019-04-23T14:00:00-04:00")
    );
    assert_eq!(
        t("20190123140000").to_date_time(Some(&ny)).as_deref(),
        Some("2019-01-23T14:00:00-05:00")
    );
    assert_eq!(
        t("20190423").to_instant(Some(&ny)),
        None,
        "an instant needs a time"
    );
    for bad in [
        "",
        "19",
        "2019-04-23",
        "20190230",
        "20190423250000",
        "201904231400+2400",
        "2019042314+02",
        "20190423.5",
        "abcd",
    ] {
        assert!(Dtm::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn fhir_times_become_dtm_with_their_offset() {
    assert_eq!(
        fhir_to_dtm("2013-12-10T09:00:00Z").as_deref(),
        Ok("20131210090000+0000")
    );
    assert_eq!(
        fhir_to_dtm("2013-12-10T09:00:00.123456-05:00").as_deref(),
        Ok("20131210090000.1234-0500")
    );
    assert_eq!(fhir_to_dtm("2013-12-10").as_deref(), Ok("20131210"));
    assert_eq!(fhir_to_dtm("2013").as_deref(), Ok("2013"));
    assert!(fhir_to_dtm("2013-12-10T09:00").is_err());
    assert!(fhir_to_dtm("yesterday").is_err());
}

#[test]
fn ack_answers_with_swapped_apps_and_reads_back() {
    let msg = parse(b"MSH|^~\\&|EHR|HOSP|FHIRGATE|TELE|20240101120000+0000||SIU^S12^SIU_S12|CTRL-1|P|2.5.1\rSCH|1").expect("parse");
    let text = ack(&msg, AckCode::AE, Some("store unavailable | retry"));
    let back = parse(text.as_bytes()).expect("ack parses");
    let msh = back.msh();
    assert_eq!(msh.text(3, 1).as_deref(), Some("FHIRGATE"));
    assert_eq!(msh.text(4, 1).as_deref(), Some("TELE"));
    assert_eq!(msh.text(5, 1).as_deref(), Some("EHR"));
    assert_eq!(msh.text(6, 1).as_deref(), Some("HOSP"));
    assert_eq!(msh.field(9).raw(), "ACK^S12^ACK");
    assert_eq!(msh.field(11).raw(), "P");
    assert_eq!(msh.field(12).raw(), "2.5.1");
    assert_ne!(back.control_id().as_deref(), Some("CTRL-1"));
    assert_eq!(
        back.segment("ERR").expect("ERR").field(3).raw(),
        "207^Application internal error^HL70357"
    );
    let a = parse_ack(&back).expect("ack");
    assert_eq!(a.code, AckCode::AE);
    assert_eq!(a.control_id, "CTRL-1");
    assert_eq!(a.text.as_deref(), Some("store unavailable | retry"));
    assert!(text.ends_with('\r') && !text.contains('\n'));

    let ok = parse(ack(&msg, AckCode::AA, None).as_bytes()).expect("AA");
    assert!(ok.segment("ERR").is_none());
    assert_eq!(parse_ack(&ok).expect("AA").code, AckCode::AA);
    let old = parse(b"MSH|^~\\&|A|B|C|D|2024||ADT^A04|9|P|2.3\rPID|1").expect("2.3");
    let rej = parse(ack(&old, AckCode::AR, Some("no")).as_bytes()).expect("AR");
    assert_eq!(rej.msh().field(9).raw(), "ACK^A04");
    assert_eq!(
        rej.segment("ERR").expect("ERR").field(1).raw(),
        "^^^200&Unsupported message type&HL70357"
    );
    assert!(parse_ack(&msg).is_err(), "no MSA");
}

#[test]
fn control_ids_are_unique_20_character_st() {
    let ids: std::collections::HashSet<String> =
        (0..10_000).map(|_| write::new_control_id()).collect();
    assert_eq!(ids.len(), 10_000);
    assert!(
        ids.iter()
            .all(|i| i.len() == 20 && i.bytes().all(|b| b.is_ascii_alphanumeric()))
    );
}

#[test]
fn unsupported_messages_and_versions() {
    let ctx = Context::default();
    let m = parse(b"MSH|^~\\&|A|B|C|D|2024||MDM^T02|1|P|2.5\rPID|1").expect("parse");
    assert!(message_to_fhir(&m, &ctx).is_err());
    let m = parse(b"MSH|^~\\&|A|B|C|D|2024||ADT^A04|1|P|2.9\rPID|1||X").expect("parse");
    let mapped = message_to_fhir(&m, &ctx).expect("2.9 maps");
    assert!(mapped.warnings.iter().any(|w| w.contains("outside 2.3")));
    let m = parse(b"MSH|^~\\&|A|B|C|D|2024||SIU^S12|1|P|2.5\rPID|1||X").expect("parse");
    assert!(message_to_fhir(&m, &ctx).is_err(), "SIU without SCH");
}

#[test]
fn obx_value_types_sn_st_tx_dt_and_reference_ranges() {
    let msg = parse(
        b"MSH|^~\\&|LAB||||20240301||ORU^R01|7|P|2.5.1\r\
PID|1||P1^^^LAB^MR||Doe^Jane\r\
OBR|1|||24331-1^Lipid panel^LN|||20240301083000-0500\r\
OBX|1|SN|2093-3^Cholesterol^LN||>^200|mg/dL^^UCUM|<200|H|||F\r\
OBX|2|SN|5811-5^Specific gravity^LN||^1.010^-^1.030||1.005-1.030||||F\r\
OBX|3|SN|8061-4^ANA titer^LN||^1^:^160||||||F\r\
OBX|4|TX|19146-0^Comment^LN||first line~second \\T\\ line||||||C\r\
OBX|5|DT|11778-8^Delivery date^LN||20240915||||||P\r\
OBX|6|NM|2345-7^Glucose^LN||+0095.50|mg/dL|70-99|HH|||F|||20240301084500\r\
OBX|7|NM|2339-0^Glucose^LN||abc|mg/dL||||F\r\
OBX|8|ED|X^Image^L||^AP^PDF^Base64^AAA=||||||F\r",
    )
    .expect("parse");
    let ctx = Context::new(Some("America/Chicago")).expect("zone");
    let m = message_to_fhir(&msg, &ctx).expect("map");
    let obs: Vec<&serde_json::Value> = m
        .resources
        .iter()
        .map(|r| &r.resource)
        .filter(|r| r["resourceType"] == "Observation")
        .collect();
    assert_eq!(obs.len(), 8);
    assert_eq!(obs[0]["valueQuantity"]["comparator"], ">");
    assert_eq!(obs[0]["valueQuantity"]["value"].to_string(), "200");
    assert_eq!(obs[0]["valueQuantity"]["code"], "mg/dL");
    assert_eq!(
        obs[0]["referenceRange"][0]["high"]["value"].to_string(),
        "200"
    );
    assert_eq!(
        obs[0]["effectiveDateTime"], "2024-03-01T08:30:00-05:00",
        "from OBR-7"
    );
    assert_eq!(obs[1]["valueRange"]["low"]["value"].to_string(), "1.010");
    assert_eq!(obs[1]["valueRange"]["high"]["value"].to_string(), "1.030");
    assert_eq!(
        obs[1]["referenceRange"][0]["low"]["value"].to_string(),
        "1.005"
    );
    assert_eq!(obs[2]["valueRatio"]["numerator"]["value"].to_string(), "1");
    assert_eq!(
        obs[2]["valueRatio"]["denominator"]["value"].to_string(),
        "160"
    );
    assert_eq!(obs[3]["valueString"], "first line\nsecond & line");
    assert_eq!(obs[3]["status"], "corrected");
    assert_eq!(obs[4]["valueDateTime"], "2024-09-15");
    assert_eq!(obs[4]["status"], "preliminary");
    assert_eq!(obs[5]["valueQuantity"]["value"].to_string(), "95.50");
    assert_eq!(
        obs[5]["effectiveDateTime"], "2024-03-01T08:45:00-06:00",
        "zone rule, CST"
    );
    assert_eq!(obs[5]["interpretation"][0]["coding"][0]["code"], "HH");
    assert_eq!(
        obs[5]["referenceRange"][0]["low"]["value"].to_string(),
        "70"
    );
    assert_eq!(obs[6]["valueString"], "abc");
    assert!(obs[7].get("valueString").is_none() && obs[7].get("valueQuantity").is_none());
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("type NM is not a number"))
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("type ED is not mapped"))
    );
    assert!(
        obs.iter()
            .all(|o| o["subject"]["reference"] == m.resources[8].full_url.as_str())
    );
}

#[test]
fn hd_values_are_written_as_components_and_delimiters_are_refused() {
    use super::write::{hd, hd_problem};
    assert_eq!(
        hd("GENHOSP^2.16.840.1.113883.19.5^ISO"),
        "GENHOSP^2.16.840.1.113883.19.5^ISO"
    );
    assert_eq!(hd("LAB^^"), "LAB");
    // Unchecked text still cannot end the field or the segment.
    assert_eq!(hd("A|B\rMSH^x~y&z"), "A\\F\\B\\X0D\\MSH^x\\R\\y\\T\\z");
    assert_eq!(hd_problem(""), None);
    assert_eq!(hd_problem("GENHOSP^2.16.840.1.113883.19.5^ISO"), None);
    assert_eq!(hd_problem("^urn:example:fac^URI"), None);
    for bad in [
        "A|B",
        "A~B",
        "A&B",
        "A\\B",
        "A\rB",
        "A^1.2^ISO^X",
        "ABCDEFGHIJKLMNOPQRSTU",
        "A^1.2.3",
        "A^^ISO",
        "A^1.2^OID",
        "A^x.y^ISO",
        "^^",
    ] {
        assert!(hd_problem(bad).is_some(), "{bad:?}");
    }
}

#[test]
fn the_ack_carries_hd_facilities_swapped_even_from_other_delimiters() {
    // Component separator `$`, repetition `*`, escape `!`, subcomponent `@`.
    let msg = parse(b"MSH#$*!@#EHR$1.2.3$ISO#HOSP$2.16.840.1$ISO#FHIRGATE#TELE^WING$urn:x$URI#2024##ADT$A08#C-9#P#2.5.1\rPID#1").expect("parse");
    let back = parse(ack(&msg, AckCode::AA, None).as_bytes()).expect("ack parses");
    let msh = back.msh();
    assert_eq!(msh.field(3).raw(), "FHIRGATE");
    assert_eq!(msh.field(4).raw(), "TELE\\S\\WING^urn:x^URI");
    assert_eq!(msh.field(5).raw(), "EHR^1.2.3^ISO");
    assert_eq!(msh.field(6).raw(), "HOSP^2.16.840.1^ISO");
    assert_eq!(msh.text(4, 1).as_deref(), Some("TELE^WING"));
}
