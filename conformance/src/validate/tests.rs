//! The validator against real R4 examples (none may be refused) and against broken copies
//! of them (each break found at its path).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{TYPED, validate};
use crate::outcome::IssueCode;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn read(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).expect("fixture");
    serde_json::from_str(&text).expect("JSON")
}

/// Every resource of the R4 examples and the Synthea bundles, Bundle entries included.
fn examples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for dir in ["fhir-r4", "synthea"] {
        let mut files: Vec<_> = std::fs::read_dir(fixtures().join(dir))
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let resource = read(&file);
            let name = file.display().to_string();
            if let Some(entries) = resource.get("entry").and_then(Value::as_array) {
                for (i, e) in entries.iter().enumerate() {
                    if let Some(r) = e.get("resource") {
                        out.push((format!("{name} entry {i}"), r.clone()));
                    }
                }
            }
            out.push((name, resource));
        }
    }
    out
}

#[test]
fn every_r4_example_and_synthea_resource_is_valid() {
    let examples = examples();
    assert!(examples.len() > 150, "{} resources", examples.len());
    let mut checked = std::collections::BTreeSet::new();
    for (name, resource) in &examples {
        let issues = validate(resource);
        assert!(issues.is_empty(), "{name}: {issues:?}");
        let rt = resource["resourceType"].as_str().expect("type");
        if TYPED.contains(&rt) {
            checked.insert(rt.to_owned());
        }
    }
    // The typed check ran on the types the examples hold.
    for rt in [
        "Observation",
        "Patient",
        "MedicationRequest",
        "Encounter",
        "Claim",
        "Coverage",
    ] {
        assert!(checked.contains(rt), "{rt} not among {checked:?}");
    }
}

fn observation() -> Value {
    read(&fixtures().join("fhir-r4/observation-example-bloodpressure.json"))
}

fn codes_and_paths(resource: &Value) -> Vec<(IssueCode, Vec<String>)> {
    validate(resource)
        .into_iter()
        .map(|i| (i.code, i.expression))
        .collect()
}

#[test]
fn an_element_the_definition_lacks_is_found_where_it_is() {
    let mut o = observation();
    o["colour"] = json!("red");
    o["component"][1]["valueQuantity"]["precision"] = json!(2);
    o["valueFoo"] = json!(1);
    assert_eq!(
        codes_and_paths(&o),
        [
            (
                IssueCode::Structure,
                vec!["Observation.component[1].valueQuantity.precision".to_owned()]
            ),
            (IssueCode::Structure, vec!["Observation.colour".to_owned()]),
            (
                IssueCode::Structure,
                vec!["Observation.valueFoo".to_owned()]
            ),
        ]
    );
}

#[test]
fn a_wrong_datatype_a_bad_code_and_a_missing_element_are_refused() {
    let mut o = observation();
    o["status"] = json!(42);
    let issues = validate(&o);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].code, IssueCode::Structure);
    assert_eq!(issues[0].expression, ["Observation.status"]);

    let mut o = observation();
    o["status"] = json!("finalised");
    let issues = validate(&o);
    assert!(issues[0].diagnostics.contains("'finalised'"), "{issues:?}");
    assert_eq!(
        (issues[0].code, issues[0].expression.clone()),
        (IssueCode::Value, vec!["Observation.status".to_owned()])
    );

    let mut o = observation();
    o.as_object_mut().expect("object").remove("code");
    let issues = validate(&o);
    assert_eq!(
        (issues[0].code, issues[0].expression.clone()),
        (IssueCode::Required, vec!["Observation.code".to_owned()])
    );
}

#[test]
fn json_rules_hold_for_every_type() {
    let mut o = observation();
    o["note"] = json!([]);
    o["code"]["text"] = json!("");
    o["method"] = json!({});
    o["issued"] = Value::Null;
    let paths: Vec<Vec<String>> = validate(&o).into_iter().map(|i| i.expression).collect();
    assert_eq!(
        paths,
        [
            vec!["Observation.code.text".to_owned()],
            vec!["Observation.note".to_owned()],
            vec!["Observation.method".to_owned()],
            vec!["Observation.issued".to_owned()],
        ]
    );
    // A type outside the typed list gets the JSON rules too.
    let sub = json!({"resourceType": "SubstancePolymer", "id": ""});
    assert_eq!(validate(&sub)[0].expression, ["SubstancePolymer.id"]);
    assert!(validate(&json!({"resourceType": "SubstancePolymer", "id": "x"})).is_empty());
}

#[test]
fn primitive_extensions_and_their_null_placeholders_are_valid() {
    let p = json!({"resourceType": "Patient", "birthDate": "1970-03-30",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1970-03-30T14:30:00+01:00"}]},
        "name": [{"given": ["Ann", "B"], "_given": [null, {"extension": [{"url": "http://example.org/initial", "valueBoolean": true}]}]}]});
    assert_eq!(validate(&p), []);
    let bad = json!({"resourceType": "Patient", "name": [{"given": ["Ann", null]}]});
    assert_eq!(validate(&bad)[0].expression, ["Patient.name[0].given[1]"]);
}

#[test]
fn not_a_resource_is_invalid() {
    let issues = validate(&json!({"id": "x"}));
    assert_eq!(issues[0].code, IssueCode::Invalid);
}

#[test]
fn decimals_are_read_whatever_their_spelling_and_must_be_finite() {
    for text in ["104.50", "1.045e2", "0.000", "-3.10"] {
        let o: Value = serde_json::from_str(&format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"valueQuantity":{{"value":{text}}}}}"#
        ))
        .expect("JSON");
        assert_eq!(validate(&o), [], "{text}");
    }
    let o: Value = serde_json::from_str(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e999}}"#,
    )
    .expect("JSON");
    let issues = validate(&o);
    assert_eq!(
        (issues[0].code, issues[0].expression.clone()),
        (
            IssueCode::Value,
            vec!["Observation.valueQuantity.value".to_owned()]
        )
    );
}

#[test]
fn a_missing_required_choice_is_named_with_its_x() {
    let mr = json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/p"}});
    let issues = validate(&mr);
    assert_eq!(
        (issues[0].code, issues[0].expression.clone()),
        (
            IssueCode::Required,
            vec!["MedicationRequest.medication[x]".to_owned()]
        )
    );
}
