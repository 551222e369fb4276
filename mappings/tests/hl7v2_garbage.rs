//! Garbage and truncated input is an error or a partial mapping, never a panic: every
//! fixture cut at thousands of places, fixtures with random delimiters and bytes spliced in, random
//! bytes after an MSH header, and malformed FHIR for the outbound mappings.

mod hl7v2_support;

use fhirgate_mappings::hl7v2::{self, Context, Related, WriteOptions};
use hl7v2_support::{fhir_fixture, fixture, fixture_names};
use serde_json::{Value, json};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn contexts() -> [Context; 2] {
    [
        Context::default(),
        Context::new(Some("Australia/Lord_Howe")).expect("zone"),
    ]
}

fn try_map(bytes: &[u8], ctxs: &[Context]) -> bool {
    match hl7v2::parse(bytes) {
        Ok(m) => {
            let mut ok = false;
            for ctx in ctxs {
                ok |= hl7v2::message_to_fhir(&m, ctx).is_ok();
                let _ = hl7v2::ack(&m, hl7v2::AckCode::AE, Some("x"));
                let _ = hl7v2::parse_ack(&m);
            }
            ok
        }
        Err(_) => false,
    }
}

/// Cut positions: every byte of the first 128 (the MSH header), every byte within two of a
/// segment terminator, and every third byte elsewhere (every byte everywhere is too slow for
/// a debug build).
fn cuts(bytes: &[u8]) -> Vec<usize> {
    (0..=bytes.len())
        .filter(|&i| {
            i < 128
                || i % 3 == 0
                || bytes[i.saturating_sub(2)..(i + 2).min(bytes.len())]
                    .iter()
                    .any(|b| *b == b'\r' || *b == b'\n')
        })
        .collect()
}

#[test]
fn truncations_of_every_fixture_map_or_err() {
    let ctxs = &contexts()[1..];
    for name in fixture_names() {
        let bytes = fixture(&name);
        let mut mapped = 0;
        for cut in cuts(&bytes) {
            if try_map(&bytes[..cut], ctxs) {
                mapped += 1;
            }
        }
        assert!(mapped > 0, "{name}: the whole message maps");
        assert!(
            !try_map(&bytes[..bytes.len().min(8)], ctxs),
            "{name}: a cut header"
        );
    }
}

#[test]
fn spliced_delimiters_and_bytes_never_panic() {
    let ctxs = contexts();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pool: &[u8] = b"|^~\\&\r\n\"\\XZ\\F\\H.0123456789+-MSHPIDOBXSCH\xc3\xa9\xff\x00";
    let fixtures: Vec<Vec<u8>> = fixture_names().iter().map(|n| fixture(n)).collect();
    for _ in 0..4000 {
        let mut b = fixtures[rng.below(fixtures.len())].clone();
        for _ in 0..1 + rng.below(12) {
            let at = rng.below(b.len() + 1);
            match rng.below(3) {
                0 => b.insert(at, pool[rng.below(pool.len())]),
                1 if at < b.len() => {
                    b.remove(at);
                }
                _ if at < b.len() => b[at] = pool[rng.below(pool.len())],
                _ => {}
            }
        }
        try_map(&b, &ctxs);
    }
}

#[test]
fn random_bytes_after_a_header_never_panic() {
    let ctxs = contexts();
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let mut b = b"MSH|^~\\&|A|B|C|D|20240101||".to_vec();
        let kinds: [&[u8]; 5] = [b"SIU^S12", b"ADT^A04", b"ORU^R01", b"RDE^O11", b"ORM^O01"];
        b.extend_from_slice(kinds[rng.below(5)]);
        b.extend_from_slice(b"|1|P|2.5.1\r");
        let n = rng.below(400);
        for _ in 0..n {
            let r = rng.below(10);
            b.push(match r {
                0 => b'|',
                1 => b'^',
                2 => b'\r',
                3 => b'&',
                4 => b'~',
                5 => b'\\',
                _ => b"PIDSCHOBXPV1AIPRXEORC0123+-."[rng.below(28)],
            });
        }
        try_map(&b, &ctxs);
    }
}

#[test]
fn obvious_garbage_is_an_error() {
    for bad in [
        &b"hello"[..],
        b"",
        b"\xEF\xBB\xBF",
        b"MSH|",
        b"{\"resourceType\":\"Patient\"}",
        b"\x00\x01\x02",
    ] {
        assert!(hl7v2::parse(bad).is_err(), "{bad:?}");
    }
    let short = hl7v2::parse(b"MSH|^~").expect("MSH-2 may declare only ^ and ~");
    assert!(hl7v2::message_to_fhir(&short, &Context::default()).is_err());
    let header_only = hl7v2::parse(b"MSH|^~\\&|A").expect("a header parses");
    assert!(
        hl7v2::message_to_fhir(&header_only, &Context::default()).is_err(),
        "no MSH-9"
    );
    let siu =
        hl7v2::parse(b"MSH|^~\\&|A|B|C|D|2024||SIU^S12|1|P|2.5\rSCH|1|2|||||||||^^^notatime|")
            .expect("parse");
    let m = hl7v2::message_to_fhir(&siu, &Context::default()).expect("maps without the bad time");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("not an HL7 v2 date/time")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn malformed_fhir_for_outbound_never_panics() {
    let base = fhir_fixture("appointment-example.json");
    let enc = fhir_fixture("encounter-example.json");
    let odd: Vec<Value> = vec![
        json!(null),
        json!(1),
        json!("x"),
        json!([]),
        json!({}),
        json!({"resourceType": "Appointment"}),
        json!({"resourceType": "Appointment", "status": 7, "participant": "nope", "start": "soon"}),
        json!({"resourceType": "Appointment", "status": "booked", "participant": [{"actor": 3}, {"actor": {"reference": "/"}}, null],
               "identifier": [{"type": {"coding": "x"}}], "serviceType": [1, {"coding": [{"code": 5}]}], "extension": [{"url": hl7v2::VIRTUAL_SERVICE, "extension": [{"url": "channelType", "valueCoding": 1}]}]}),
        json!({"resourceType": "Encounter", "status": "finished", "subject": {"reference": "Patient/x"}, "class": "AMB", "participant": [{"individual": {"reference": 1}}], "period": {"end": "2024-13-45T99:99:99Z"}}),
        json!({"resourceType": "Encounter", "status": "in-progress"}),
    ];
    let weird_patient = json!({"resourceType": "Patient", "name": "x", "telecom": [{"value": 5}], "birthDate": "long ago", "identifier": [null, {"system": 3}]});
    for related in [
        Related::default(),
        Related {
            patient: Some(&weird_patient),
            ..Related::default()
        },
    ] {
        for v in odd.iter().chain([&base, &enc]) {
            let o = WriteOptions::default();
            let _ = hl7v2::appointment_to_siu(v, &related, &o);
            let _ = hl7v2::encounter_to_adt(v, &related, &o);
            let _ = hl7v2::patient_to_pid(v, &o, true);
        }
    }
    assert!(
        hl7v2::appointment_to_siu(
            &json!({"resourceType": "Patient"}),
            &Related::default(),
            &WriteOptions::default()
        )
        .is_err()
    );
    let e = json!({"resourceType": "Encounter", "status": "in-progress"});
    assert!(
        hl7v2::encounter_to_adt(&e, &Related::default(), &WriteOptions::default()).is_err(),
        "no subject"
    );
}
