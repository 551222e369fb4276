use super::*;

#[test]
fn outcome_carries_code_severity_diagnostics_and_expression() {
    let oo = operation_outcome(&[
        Issue::error(IssueCode::NotFound, "Patient/x is not known").at("Patient.id")
    ]);
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["severity"], "error");
    assert_eq!(oo["issue"][0]["code"], "not-found");
    assert_eq!(oo["issue"][0]["diagnostics"], "Patient/x is not known");
    assert_eq!(oo["issue"][0]["expression"][0], "Patient.id");
}

#[test]
fn empty_outcome_has_one_informational_issue() {
    let oo = operation_outcome(&[]);
    assert_eq!(oo["issue"].as_array().map(Vec::len), Some(1));
    assert_eq!(oo["issue"][0]["code"], "informational");
}

#[test]
fn warning_severity_and_multiple_matches_code() {
    let oo = operation_outcome(&[Issue::warning(IssueCode::MultipleMatches, "two")]);
    assert_eq!(oo["issue"][0]["severity"], "warning");
    assert_eq!(oo["issue"][0]["code"], "multiple-matches");
}

#[test]
fn capability_statement_lists_routes_and_smart_uris() {
    let input = CapabilityInput {
        base_url: "http://127.0.0.1:8080/fhir".into(),
        software_name: "fhirgate".into(),
        software_version: "0.1.0".into(),
        date: "2026-11-29T00:00:00Z".into(),
        resources: vec![ResourceCapability {
            resource_type: "Observation".into(),
            interactions: vec!["read".into(), "search-type".into()],
            search_params: vec![("code".into(), "token".into())],
            ..Default::default()
        }],
        system_interactions: vec!["transaction".into()],
        smart: Some(capability::SmartUris {
            authorize: None,
            token: "http://127.0.0.1:8080/sandbox/auth/token".into(),
            introspect: None,
        }),
    };
    let cs = capability_statement(&input);
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["format"][0], "json");
    assert_eq!(cs["kind"], "instance");
    assert_eq!(cs["implementation"]["url"], "http://127.0.0.1:8080/fhir");
    assert_eq!(cs["rest"][0]["resource"][0]["type"], "Observation");
    assert_eq!(
        cs["rest"][0]["resource"][0]["interaction"][1]["code"],
        "search-type"
    );
    assert_eq!(
        cs["rest"][0]["resource"][0]["searchParam"][0]["type"],
        "token"
    );
    assert_eq!(cs["rest"][0]["interaction"][0]["code"], "transaction");
    assert_eq!(
        cs["rest"][0]["security"]["extension"][0]["extension"][0]["valueUri"],
        "http://127.0.0.1:8080/sandbox/auth/token"
    );
}
