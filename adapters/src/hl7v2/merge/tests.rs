//! Unit tests of the field-by-field merge (HL7 v2.5.1 §2.5.3 snapshot semantics).

use super::merge;
use serde_json::json;

#[test]
fn present_replaces_absent_keeps_null_removes() {
    let stored = json!({"resourceType": "Patient", "id": "p1",
        "meta": {"versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z", "tag": [{"code": "t"}]},
        "identifier": [{"system": "urn:a", "value": "1"}, {"system": "urn:b", "value": "x"}],
        "name": [{"family": "Old"}], "telecom": [{"system": "email", "value": "a@b.c"}],
        "communication": [{"language": {"text": "fr"}}], "gender": "male",
        "birthDate": "1980-01-02", "_birthDate": {"extension": [{"url": "bt"}]},
        "deceasedBoolean": false});
    let incoming = json!({"resourceType": "Patient",
        "identifier": [{"system": "urn:a", "value": "1", "type": {"text": "MR"}}],
        "name": [{"family": "New"}], "birthDate": "1980-01-03",
        "deceasedDateTime": "2026-02-01"});
    let nulled = vec!["Patient.gender".to_owned(), "Encounter.class".to_owned()];
    let out = merge(&stored, &incoming, &nulled, &[]);
    assert_eq!(
        out,
        json!({"resourceType": "Patient", "id": "p1", "meta": {"tag": [{"code": "t"}]},
            "identifier": [{"system": "urn:a", "value": "1", "type": {"text": "MR"}},
                {"system": "urn:b", "value": "x"}],
            "name": [{"family": "New"}], "telecom": [{"system": "email", "value": "a@b.c"}],
            "communication": [{"language": {"text": "fr"}}],
            "birthDate": "1980-01-03", "deceasedDateTime": "2026-02-01"})
    );
}

#[test]
fn extensions_and_identifiers_merge_into_a_resource_without_them() {
    let stored = json!({"resourceType": "Patient", "id": "p1",
        "extension": [{"url": "urn:a", "valueString": "kept"}, {"url": "urn:m", "valueString": "old"}]});
    let incoming = json!({"resourceType": "Patient",
        "identifier": [{"system": "urn:s", "value": "1"}],
        "extension": [{"url": "urn:m", "valueString": "new"}]});
    let out = merge(&stored, &incoming, &[], &[]);
    assert_eq!(
        out["identifier"],
        json!([{"system": "urn:s", "value": "1"}])
    );
    assert_eq!(
        out["extension"],
        json!([{"url": "urn:a", "valueString": "kept"}, {"url": "urn:m", "valueString": "new"}])
    );
    let bare = json!({"resourceType": "Patient", "id": "p2"});
    let out = merge(&bare, &incoming, &[], &[]);
    assert_eq!(
        out["extension"],
        json!([{"url": "urn:m", "valueString": "new"}])
    );
    assert_eq!(
        out["identifier"],
        json!([{"system": "urn:s", "value": "1"}])
    );
}

#[test]
fn encounter_period_merges_by_part_and_defaults_do_not_overwrite() {
    let stored = json!({"resourceType": "Encounter", "id": "e1", "status": "finished",
        "class": {"code": "IMP"}, "period": {"start": "2026-01-01", "end": "2026-01-05"},
        "hospitalization": {"dischargeDisposition": {"text": "home"}}});
    let incoming = json!({"resourceType": "Encounter", "status": "in-progress",
        "class": {"code": "UNK"}, "period": {"start": "2026-01-02"},
        "hospitalization": {"admitSource": {"text": "ER"}}});
    let defaulted = vec!["Encounter.status".to_owned(), "Encounter.class".to_owned()];
    let out = merge(&stored, &incoming, &[], &defaulted);
    assert_eq!(out["status"], "finished");
    assert_eq!(out["class"], json!({"code": "IMP"}));
    assert_eq!(
        out["period"],
        json!({"start": "2026-01-02", "end": "2026-01-05"})
    );
    assert_eq!(
        out["hospitalization"],
        json!({"dischargeDisposition": {"text": "home"}, "admitSource": {"text": "ER"}})
    );
    let nulled = vec!["Encounter.period.end".to_owned()];
    let out = merge(&stored, &json!({"resourceType": "Encounter"}), &nulled, &[]);
    assert_eq!(out["period"], json!({"start": "2026-01-01"}));
}
