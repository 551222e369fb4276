//! Every HL7 v2 fixture in `tests/fixtures/hl7v2` maps to FHIR R4, asserted field by field
//! (ids, names, birth dates, gender, codes, values, units, offsets exactly), with and without
//! a time zone; and each maps identically with CR, LF and CRLF segment endings, with and
//! without a leading byte-order mark.

mod hl7v2_support;

use fhirgate_mappings::hl7v2::{self, Context, Mapped};
use hl7v2_support::{assert_subset, fixture, fixture_names, map_bytes, of_type};
use serde_json::Value;

fn map(name: &str, zone: Option<&str>) -> Mapped {
    map_bytes(&fixture(name), zone)
}

fn one(m: &Mapped, ty: &str) -> Value {
    let all = of_type(m, ty);
    assert_eq!(all.len(), 1, "one {ty}");
    all[0].clone()
}

#[test]
fn every_fixture_maps_and_reads_the_same_with_every_segment_ending_and_a_bom() {
    let names = fixture_names();
    assert_eq!(names.len(), 11);
    for name in names {
        let original = fixture(&name);
        let reference = map_bytes(&original, Some("Europe/Berlin"));
        assert!(!reference.resources.is_empty(), "{name}");
        let body = original.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&original);
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        let segments: Vec<&str> = text.split(['\r', '\n']).filter(|s| !s.is_empty()).collect();
        for ending in ["\r", "\n", "\r\n"] {
            for bom in [false, true] {
                let mut bytes = Vec::new();
                if bom {
                    bytes.extend_from_slice(b"\xEF\xBB\xBF");
                }
                bytes.extend_from_slice(segments.join(ending).as_bytes());
                bytes.extend_from_slice(ending.as_bytes());
                let variant = map_bytes(&bytes, Some("Europe/Berlin"));
                let a: Vec<&Value> = reference.resources.iter().map(|r| &r.resource).collect();
                let b: Vec<&Value> = variant.resources.iter().map(|r| &r.resource).collect();
                assert_eq!(a, b, "{name} with {ending:?} endings, bom {bom}");
                let urls: Vec<&str> = variant
                    .resources
                    .iter()
                    .map(|r| r.full_url.as_str())
                    .collect();
                let urls0: Vec<&str> = reference
                    .resources
                    .iter()
                    .map(|r| r.full_url.as_str())
                    .collect();
                assert_eq!(urls, urls0, "{name}: full URLs are stable");
            }
        }
    }
}

#[test]
fn adt_a01_v231_simple_admit() {
    let m = map("ADT_A01_v2.3.1_simple_admit.hl7", Some("America/New_York"));
    let patient = one(&m, "Patient");
    assert_subset(
        &patient,
        r#"{"identifier": [
            {"type": {"coding": [{"code": "MR"}]}, "system": "urn:fhirgate:hl7v2:assigning-authority:VHIS", "value": "AdmitPat1", "assigner": {"display": "VHIS"}},
            {"type": {"coding": [{"code": "MA"}]}, "system": "urn:fhirgate:hl7v2:assigning-authority:VHIS", "value": "MAMar1502"},
            {"value": "MPI08"}, {"value": "ALT0000030"},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]}, "system": "http://hl7.org/fhir/sid/us-ssn", "value": "SSN08"}],
          "name": [{"family": "Winson", "given": ["Patient1", "Middle0030"], "prefix": ["Mr"], "suffix": ["S", "Dr."]}],
          "gender": "male", "birthDate": "1987-01-06",
          "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1987-01-06T10:33:00-05:00"}]},
          "address": [{"line": ["Boulevard", "U"], "city": "New Jersey", "state": "WA", "postalCode": "789-1211", "country": "United States"}],
          "telecom": [{"system": "phone", "value": "124-5478-9874", "use": "home"}, {"system": "phone", "value": "124-5478-9875", "use": "work"}],
          "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Married"}]},
          "multipleBirthBoolean": true,
          "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "LNMom"}]}"#,
    );
    let enc = one(&m, "Encounter");
    assert_subset(
        &enc,
        r#"{"status": "finished",
          "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
          "identifier": [{"value": "VN_AdmitPat1", "type": {"coding": [{"code": "VN"}]}}],
          "participant": [
            {"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}], "individual": {"type": "Practitioner", "identifier": {"value": "ATID0030"}, "display": "Dr. Attending0030 ADMiddle0030 Doctor0030 S"}},
            {"type": [{"coding": [{"code": "REF"}]}], "individual": {"identifier": {"value": "RDID0030"}}},
            {"type": [{"coding": [{"code": "CON"}]}], "individual": {"identifier": {"value": "CDID0030"}}},
            {"type": [{"coding": [{"code": "ADM"}]}], "individual": {"identifier": {"value": "ADID0030"}}}],
          "period": {"start": "2012-12-01T06:30:43-05:00", "end": "2015-02-18T15:40:38-05:00"}}"#,
    );
    let purl = &m
        .resources
        .iter()
        .find(|r| r.resource["resourceType"] == "Patient")
        .expect("patient")
        .full_url;
    assert_eq!(enc["subject"]["reference"], purl.as_str());
    assert!(purl.starts_with("urn:uuid:"));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);

    // Without a zone: offset-less times keep their date, with one warning; no birth time.
    let m = map("ADT_A01_v2.3.1_simple_admit.hl7", None);
    let enc = one(&m, "Encounter");
    assert_eq!(enc["period"]["start"], "2012-12-01");
    assert_eq!(enc["period"]["end"], "2015-02-18");
    let patient = one(&m, "Patient");
    assert_eq!(patient["birthDate"], "1987-01-06");
    assert!(patient.get("_birthDate").is_none());
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(m.warnings[0].contains("date precision"));
}

#[test]
fn adt_a01_v28_base_standard_example() {
    let m = map("ADT_A01_v2.8_base_standard_example.hl7", None);
    assert_subset(
        &one(&m, "Patient"),
        r#"{"identifier": [
            {"type": {"coding": [{"code": "MR"}]}, "system": "urn:fhirgate:hl7v2:assigning-authority:ADT1", "value": "PATID1234"},
            {"type": {"coding": [{"code": "SS"}]}, "system": "http://hl7.org/fhir/sid/us-ssn", "value": "123456789", "assigner": {"display": "USSSA"}},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "444333333"}],
          "name": [{"family": "EVERYMAN", "given": ["ADAM", "A"], "suffix": ["III"]}],
          "gender": "male", "birthDate": "1961-06-15",
          "address": [{"line": ["2222 HOME STREET"], "city": "GREENSBORO", "state": "NC", "postalCode": "27401-1020"}],
          "telecom": [{"value": "(555) 555-2004", "use": "home"}, {"value": "(555)555-2004", "use": "work"}],
          "maritalStatus": {"coding": [{"code": "S"}]}}"#,
    );
    assert_subset(
        &one(&m, "Encounter"),
        r#"{"status": "in-progress", "class": {"code": "IMP"},
          "participant": [{"type": [{"coding": [{"code": "ATND"}]}], "individual": {"identifier": {"value": "004777"}, "display": "AARON A ATTEND"}}],
          "hospitalization": {"admitSource": {"coding": [{"code": "ADM"}]}}}"#,
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn adt_a01_v28_everyman_offsets_escapes_and_v27_names() {
    let m = map("ADT_A01_v2.8_ghh_everyman.hl7", None);
    let p = one(&m, "Patient");
    assert_subset(
        &p,
        r#"{"name": [
            {"use": "usual", "family": "EVERYMAN", "given": ["ADAM", "A"], "prefix": ["Dr."], "suffix": ["III", "MD"]},
            {"use": "official", "family": "Josh", "given": ["stanley"], "period": {"start": "1924-10-10", "end": "1924-10-15"}}],
          "birthDate": "1988-08-18",
          "_birthDate": {"extension": [{"valueDateTime": "1988-08-18T11:26:00+02:15"}]},
          "deceasedDateTime": "2008-08-25T11:16:30+01:15",
          "address": [{"type": "postal", "line": ["1000 Hospital Lane", "Ste. 123"], "city": "Ann Arbor", "state": "MI", "postalCode": "99999", "country": "USA"}]}"#,
    );
    assert_eq!(
        p["identifier"][0]["system"],
        "urn:fhirgate:hl7v2:assigning-authority:test1"
    );
    assert_eq!(p["identifier"][0]["value"], "PATID1234");
    let e = one(&m, "Encounter");
    assert_subset(
        &e,
        r#"{"class": {"code": "PRENC"}, "status": "in-progress",
          "identifier": [{"type": {"coding": [{"code": "AM"}]}, "system": "urn:fhirgate:hl7v2:assigning-authority:AccMng", "value": "40007716"}],
          "period": {"start": "2015-02-08T11:34:19+01:10"},
          "hospitalization": {"admitSource": {"coding": [{"code": "NHS Provider-General (inc.A&E-this Hosp)"}]}}}"#,
    );
    // XCN with an ISO assigning authority → urn:oid.
    assert_eq!(
        e["participant"][2]["individual"]["identifier"]["system"],
        "urn:oid:1.3.6.1.4.1.44750.1.2.2"
    );
    assert_eq!(
        e["participant"][2]["individual"]["identifier"]["value"],
        "C008"
    );
    assert_eq!(e["participant"][3]["individual"]["display"], "WALT DISNEY");
}

#[test]
fn adt_a04_v23_redox_register_with_bom() {
    let m = map("ADT_A04_v2.3_redox_register.hl7", None);
    assert_subset(
        &one(&m, "Patient"),
        r#"{"identifier": [
            {"system": "urn:fhirgate:hl7v2:assigning-authority:MR", "value": "0000000001"},
            {"system": "urn:fhirgate:hl7v2:assigning-authority:EHRID", "value": "e167267c-16c9-4fe3-96ae-9cff5703e90a"},
            {"system": "urn:fhirgate:hl7v2:assigning-authority:NIST", "value": "a1d4ee8aba494ca"},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "101-01-0001"}],
          "name": [{"family": "Bixby", "given": ["Timothy", "Paul"]}],
          "birthDate": "2008-01-06", "gender": "male",
          "address": [{"line": ["4762 Hickory Street"], "city": "Monroe", "state": "WI", "postalCode": "53566", "country": "US"}],
          "telecom": [{"system": "phone", "value": "8088675301", "use": "home"}],
          "maritalStatus": {"text": "Married"}}"#,
    );
    assert_subset(
        &one(&m, "Encounter"),
        r#"{"status": "in-progress", "class": {"code": "IMP"},
          "identifier": [{"value": "1234", "type": {"coding": [{"code": "VN"}]}}],
          "participant": [{"individual": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "4356789876"}, "display": "Pat Granite"}}],
          "period": {"start": "2018-10-17T22:28:05+07:00"}}"#,
    );
}

#[test]
fn adt_a08_v23_update_cr_only() {
    let m = map("ADT_A08_v2.3_update_patient.hl7", None);
    assert_subset(
        &one(&m, "Patient"),
        r#"{"identifier": [{"value": "151"}], "name": [{"family": "Bond", "given": ["Tiny"]}],
          "birthDate": "1999-07-23", "gender": "male", "deceasedBoolean": false,
          "address": [{"line": ["8388 Secret Agent Way"], "city": "Raleigh", "state": "NC", "postalCode": "27677"}]}"#,
    );
    assert_subset(
        &one(&m, "Encounter"),
        r#"{"status": "in-progress", "class": {"code": "AMB"},
          "participant": [{"individual": {"identifier": {"system": "urn:fhirgate:hl7v2:assigning-authority:7654321", "value": "Attending"}, "display": "Terry Attending"}}]}"#,
    );
    assert!(m.nulled.is_empty());
}

#[test]
fn siu_s12_v23_office_visit_in_a_zone_and_without() {
    let m = map("SIU_S12_v2.3_office_visit.hl7", Some("America/New_York"));
    let a = one(&m, "Appointment");
    assert_subset(
        &a,
        r#"{"identifier": [{"type": {"coding": [{"code": "PLAC"}]}, "value": "1209"}, {"type": {"coding": [{"code": "FILL"}]}, "value": "13030"}],
          "status": "booked",
          "reasonCode": [{"coding": [{"system": "urn:fhirgate:hl7v2:coding-system:CSI", "code": "OV15", "display": "OFFICE VISIT-15"}, {"code": "N"}]}],
          "appointmentType": {"coding": [{"code": "OFFICE VISIT-15", "display": "OFFICE VISIT-15 -"}]},
          "start": "2019-04-23T14:00:00-04:00", "end": "2019-04-23T14:15:00-04:00", "minutesDuration": 15}"#,
    );
    let parts = a["participant"].as_array().expect("participants");
    assert_eq!(parts.len(), 4);
    assert_eq!(
        parts[0]["actor"]["reference"],
        m.resources[1].full_url.as_str()
    );
    assert_subset(
        &parts[1],
        r#"{"actor": {"identifier": {"value": "PROVIDERA"}, "display": "Provider, Alex"}, "status": "accepted"}"#,
    );
    assert_subset(
        &parts[2],
        r#"{"actor": {"type": "Location", "display": "Healthmatics Clinic"}}"#,
    );
    assert_subset(
        &parts[3],
        r#"{"actor": {"type": "Practitioner", "identifier": {"system": "urn:fhirgate:hl7v2:assigning-authority:X00001", "value": "PROVA1"}, "display": "Alex Provider"}}"#,
    );
    assert_subset(
        &one(&m, "Patient"),
        r#"{"name": [{"family": "Bond", "given": ["James"], "suffix": ["007"]}], "birthDate": "1977-09-20", "gender": "male",
          "telecom": [{"system": "phone", "value": "(919)007-0007", "use": "home"},
                      {"system": "phone", "value": "(777)707-0707", "use": "mobile"},
                      {"system": "email", "value": "007@BritishSecretService.com"},
                      {"system": "phone", "value": "(919)555-0177 X007", "use": "work"}]}"#,
    );
    let m = map("SIU_S12_v2.3_office_visit.hl7", None);
    let a = one(&m, "Appointment");
    assert!(a.get("start").is_none() && a.get("end").is_none(), "{a}");
    assert_eq!(a["minutesDuration"], 15);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("appointment start has no UTC offset")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn siu_s12_v28_new_appointment() {
    let m = map("SIU_S12_v2.8_new_appointment.hl7", None);
    let a = one(&m, "Appointment");
    assert_subset(
        &a,
        r#"{"status": "booked",
          "appointmentType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "EMERGENCY"}]},
          "serviceType": [{"coding": [{"system": "http://snomed.info/sct", "code": "76164006", "display": "Biopsy of colon (procedure)"}, {"code": "1212", "display": "Biopsy"}]}],
          "start": "2021-09-24T09:30:00+02:15", "end": "2021-09-24T10:20:00+02:15", "minutesDuration": 50}"#,
    );
    let parts = a["participant"].as_array().expect("participants");
    assert_eq!(parts.len(), 4);
    assert_subset(
        &parts[1],
        r#"{"type": [{"coding": [{"code": "101", "display": "Equipment"}]}], "actor": {"identifier": {"value": "5001"}, "display": "EVIS X12 Video Colonoscope"}}"#,
    );
    assert_subset(
        &parts[2],
        r#"{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0305", "code": "C"}]}], "actor": {"display": "055 Room01 GH Clinic"}}"#,
    );
    assert_subset(
        &parts[3],
        r#"{"type": [{"coding": [{"code": "010", "display": "Gastroenterologist"}]}], "actor": {"identifier": {"value": "1210"}, "display": "Robert C GE"}}"#,
    );
    let obs = one(&m, "Observation");
    assert_subset(
        &obs,
        r#"{"status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
          "valueQuantity": {"value": 72, "unit": "beats/min", "system": "http://unitsofmeasure.org", "code": "/min"},
          "referenceRange": [{"low": {"value": 60}, "high": {"value": 120}, "text": "60-120"}],
          "effectiveDateTime": "2021-09-14"}"#,
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn oru_r01_v25_cbc_with_bom_and_iso_units() {
    let m = map("ORU_R01_v2.5_lab_cbc.hl7", None);
    let obs = of_type(&m, "Observation");
    assert_eq!(obs.len(), 10);
    assert_subset(
        &obs[0],
        r#"{"status": "registered", "code": {"coding": [{"code": "11156-7", "display": "LEUKOCYTES"}]}, "category": [{"coding": [{"code": "laboratory"}]}]}"#,
    );
    assert!(obs[0].get("valueQuantity").is_none());
    assert_subset(
        &obs[1],
        r#"{"status": "preliminary", "valueQuantity": {"value": 4.06, "unit": "tera.l-1", "system": "http://unitsofmeasure.org", "code": "10*12/L"},
          "effectiveDateTime": "2014-10-06T06:27:00+07:00",
          "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}]}]}"#,
    );
    assert_subset(
        &obs[3],
        r#"{"valueQuantity": {"value": 40.1, "code": "%"}, "effectiveDateTime": "2014-10-06T08:30:00+07:00"}"#,
    );
    assert_subset(
        &obs[4],
        r#"{"status": "final", "valueQuantity": {"value": 221, "unit": "giga.l-1", "code": "10*9/L"}}"#,
    );
    assert_subset(
        &obs[9],
        r#"{"code": {"coding": [{"code": "30180-4"}]}, "valueQuantity": {"value": 0, "code": "%"}}"#,
    );
    assert_subset(
        &one(&m, "Patient"),
        r#"{"identifier": [{"system": "urn:fhirgate:hl7v2:assigning-authority:1", "value": "10006579"}, {"value": "123121234"}],
          "name": [{"family": "DUCK", "given": ["DONALD", "D"]}], "birthDate": "1924-10-10", "gender": "male",
          "address": [{"type": "postal", "line": ["111 DUCK ST"], "city": "FOWL", "state": "CA", "postalCode": "999990000"}]}"#,
    );
}

#[test]
fn oru_r01_v251_nist_keeps_decimals_exact() {
    let m = map("ORU_R01_v2.5.1_nist_hepatitis_panel.hl7", None);
    let obs = of_type(&m, "Observation");
    assert_eq!(obs.len(), 3);
    assert_subset(
        &obs[0],
        r#"{"code": {"coding": [{"system": "http://loinc.org", "code": "22314-9"}, {"system": "urn:fhirgate:hl7v2:coding-system:L", "code": "HAVM"}]},
          "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}, {"code": "NEG"}], "text": "Negative (qualifier value)"},
          "interpretation": [{"coding": [{"code": "N"}]}], "referenceRange": [{"text": "Negative"}],
          "effectiveDateTime": "2015-09-25", "status": "final"}"#,
    );
    let q = &obs[2]["valueQuantity"];
    assert_eq!(q["value"].to_string(), "0.70");
    assert_eq!(q["code"], "[IU]/mL");
    assert_eq!(
        obs[2]["referenceRange"][0]["high"]["value"].to_string(),
        "0.50"
    );
    assert_eq!(obs[2]["referenceRange"][0]["text"], "<0.50 IU/mL");
    assert_eq!(obs[2]["interpretation"][0]["coding"][0]["code"], "H");
    assert_subset(
        &one(&m, "Patient"),
        r#"{"identifier": [{"system": "urn:fhirgate:hl7v2:assigning-authority:NIST%20MPI", "value": "PATID5421", "type": {"coding": [{"code": "MR"}]}}],
          "name": [{"use": "official", "family": "Wilson", "given": ["Patrice", "Natasha"]}], "birthDate": "1982-03-04", "gender": "female",
          "telecom": [{"system": "phone", "value": "(203) 2290210", "use": "home"}]}"#,
    );
    assert_eq!(
        m.resources
            .iter()
            .find(|r| r.resource["resourceType"] == "Patient")
            .and_then(|r| r.if_none_exist.clone())
            .as_deref(),
        Some("identifier=urn%3Afhirgate%3Ahl7v2%3Aassigning-authority%3ANIST%2520MPI|PATID5421")
    );
}

#[test]
fn rde_o11_v28_medication_request() {
    let m = map("RDE_O11_v2.8_pharmacy_order.hl7", None);
    let mr = one(&m, "MedicationRequest");
    assert_subset(
        &mr,
        r#"{"status": "active", "intent": "order",
          "identifier": [{"type": {"coding": [{"code": "PLAC"}]}, "system": "urn:fhirgate:hl7v2:assigning-authority:EPC", "value": "1163422591"}],
          "medicationCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0143963401", "display": "200 ML BAG : NICARDIPINE IN NACL (ISO-OS) 40 MG/200 ML IV PGBK"}],
                                        "text": "niCARdipine (CARDENE) in NaCl IV infusion 40 mg/200 mL (0.2 mg/mL)"},
          "authoredOn": "2019-11-04T06:27:26+02:15",
          "requester": {"type": "Practitioner", "display": "KEITH BELL TEST ONE"},
          "dosageInstruction": [{"timing": {"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": "TID"}]}},
                                 "route": {"coding": [{"code": "IV", "display": "Intravenous"}]},
                                 "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg/hr", "system": "http://unitsofmeasure.org", "code": "mg/h"},
                                                  "rateQuantity": {"value": 23, "unit": "mL/hr", "code": "mL/h"}}]}],
          "dispenseRequest": {"quantity": {"value": 3, "unit": "Bag"}, "numberOfRepeatsAllowed": 12}}"#,
    );
    assert!(
        mr["dosageInstruction"][0]["text"]
            .as_str()
            .expect("text")
            .starts_with("Titrate to BP less than 180 Starting dose is 5 mg/hr.")
    );
    assert_eq!(mr["subject"]["reference"], m.resources[1].full_url.as_str());
    assert_subset(
        &one(&m, "Observation"),
        r#"{"code": {"coding": [{"code": "8867-4"}]}, "valueCodeableConcept": {"coding": [{"code": "160"}]}, "status": "preliminary",
        "interpretation": [{"coding": [{"code": "A"}]}, {"coding": [{"code": "B"}]}]}"#,
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("OBX-5 of type CWE repeats"))
    );
    assert!(m.warnings.iter().any(|w| w.contains("Bag")));
}

#[test]
fn orm_o01_keeps_or_drops_the_z_segment() {
    let m = map("ORM_O01_v2.3.1_with_ZDS_zsegment.hl7", None);
    let first = &m.resources[0].resource;
    assert_eq!(first["resourceType"], "Observation");
    assert_subset(
        first,
        r#"{"code": {"coding": [{"code": "1010.1", "display": "BODY WEIGHT"}]}, "valueString": "68", "status": "final",
        "extension": [{"url": "urn:fhirgate:extension:hl7v2-z-segment", "valueString": "ZDS|1.2.567.26724.09515.3478.822.0123673"}]}"#,
    );
    assert_eq!(of_type(&m, "Observation").len(), 7);
    assert_eq!(
        of_type(&m, "Observation")[6]["status"],
        "final",
        "OBX-11 'F ' is trimmed"
    );
    assert_eq!(one(&m, "Encounter")["class"]["code"], "IMP");

    let msg = hl7v2::parse(&fixture("ORM_O01_v2.3.1_with_ZDS_zsegment.hl7")).expect("parse");
    let ctx = Context {
        z_segments: hl7v2::ZSegments::Drop,
        ..Context::default()
    };
    let m = hl7v2::message_to_fhir(&msg, &ctx).expect("map");
    let text = serde_json::to_string(&m.resources.iter().map(|r| &r.resource).collect::<Vec<_>>())
        .expect("json");
    assert!(!text.contains("hl7v2-z-segment") && !text.contains("ZDS"));
}
