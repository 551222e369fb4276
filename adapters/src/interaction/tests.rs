use super::*;

fn parse(method: Method, path: &str) -> Result<Target, PathError> {
    parse_target(&method, path)
}

#[test]
fn instance_type_and_system_paths_name_their_interactions() {
    let cases = [
        (Method::GET, "Patient/1", Interaction::Read),
        (Method::GET, "Patient/1/_history/2", Interaction::Vread),
        (Method::PUT, "Patient/1", Interaction::Update),
        (Method::PUT, "Patient", Interaction::Update),
        (Method::PATCH, "Patient/1", Interaction::Patch),
        (Method::DELETE, "Patient/1", Interaction::Delete),
        (
            Method::GET,
            "Patient/1/_history",
            Interaction::HistoryInstance,
        ),
        (Method::GET, "Patient/_history", Interaction::HistoryType),
        (Method::GET, "_history", Interaction::HistorySystem),
        (Method::POST, "Patient", Interaction::Create),
        (Method::GET, "Patient", Interaction::SearchType),
        (Method::POST, "Patient/_search", Interaction::SearchType),
        (Method::GET, "", Interaction::SearchSystem),
        (Method::POST, "_search", Interaction::SearchSystem),
        (Method::POST, "", Interaction::Batch),
        (Method::GET, "metadata", Interaction::Capabilities),
        (Method::POST, "Patient/1/$ingest", Interaction::Operation),
        (Method::GET, "Patient/$everything", Interaction::Operation),
        (Method::POST, "$validate", Interaction::Operation),
    ];
    for (method, path, expected) in cases {
        let got = parse(method.clone(), path).map(|t| t.interaction);
        assert_eq!(got, Ok(expected), "{method} {path}");
    }
}

#[test]
fn vread_carries_type_id_and_version() {
    let t = parse(Method::GET, "Observation/abc.1/_history/7").expect("vread");
    assert_eq!(t.resource_type.as_deref(), Some("Observation"));
    assert_eq!(t.id.as_deref(), Some("abc.1"));
    assert_eq!(t.version_id.as_deref(), Some("7"));
}

#[test]
fn operation_name_loses_its_dollar() {
    let t = parse(Method::POST, "Patient/p1/$ingest").expect("operation");
    assert_eq!(t.operation.as_deref(), Some("ingest"));
    assert_eq!(t.id.as_deref(), Some("p1"));
}

#[test]
fn unknown_type_is_404_wrong_method_405_bad_id_400() {
    assert_eq!(
        parse(Method::GET, "Patients/1").map_err(|e| e.status),
        Err(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        parse(Method::GET, "patient").map_err(|e| e.status),
        Err(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        parse(Method::POST, "Patient/1").map_err(|e| e.status),
        Err(StatusCode::METHOD_NOT_ALLOWED)
    );
    assert_eq!(
        parse(Method::DELETE, "metadata").map_err(|e| e.status),
        Err(StatusCode::METHOD_NOT_ALLOWED)
    );
    assert_eq!(
        parse(Method::GET, "Patient/a_b").map_err(|e| e.status),
        Err(StatusCode::BAD_REQUEST)
    );
    assert_eq!(
        parse(Method::GET, "Patient/1/x/y/z").map_err(|e| e.status),
        Err(StatusCode::NOT_FOUND)
    );
}

#[test]
fn resource_type_list_is_r4() {
    assert!(is_resource_type("MedicationRequest"));
    assert!(is_resource_type("EffectEvidenceSynthesis"));
    assert!(!is_resource_type("SubscriptionTopic"), "R4B only");
    assert_eq!(R4_RESOURCE_TYPES.len(), 146);
}

#[test]
fn interaction_codes_round_trip() {
    for i in ALL {
        assert_eq!(Interaction::from_code(i.code()), Some(i));
    }
}

#[test]
fn relative_path_renders_each_interaction() {
    let cases = [
        (Method::GET, "Patient/1/_history/2"),
        (Method::GET, "Patient/1/_history"),
        (Method::GET, "Patient/_history"),
        (Method::GET, "_history"),
        (Method::GET, "Patient/1"),
        (Method::POST, "Patient/1/$ingest"),
        (Method::GET, "metadata"),
    ];
    for (method, path) in cases {
        let target = parse(method.clone(), path).expect(path);
        assert_eq!(
            FhirRequest::new(method, target, "http://x/fhir").relative_path(),
            path
        );
    }
}
