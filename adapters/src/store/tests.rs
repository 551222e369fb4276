//! Unit tests of the store's pure parts: dates, tokens, references, NPI (cursor: `search::cursor`).

use super::dates::{Prefix, parse_range, parse_search};
use super::index::{extract, parse_reference};
use super::seed::npi_is_valid;
use super::text::fold;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn at(s: &str) -> i64 {
    parse_range(s).map(|r| r.0).unwrap_or(i64::MIN)
}

#[test]
fn partial_dates_have_implicit_ranges() {
    let (lo, hi) = parse_range("2013").unwrap_or_default();
    assert_eq!(lo, at("2013-01-01T00:00:00Z"));
    assert_eq!(hi, at("2014-01-01T00:00:00Z"));
    let (lo, hi) = parse_range("2013-02").unwrap_or_default();
    assert_eq!(hi - lo, 28 * DAY);
    let (lo, hi) = parse_range("2012-02").unwrap_or_default();
    assert_eq!(hi - lo, 29 * DAY);
    let (lo, hi) = parse_range("2013-12-31").unwrap_or_default();
    assert_eq!((lo, hi - lo), (at("2013-12-31T00:00:00Z"), DAY));
    let (lo, hi) = parse_range("2013-04-05T18:50").unwrap_or_default();
    assert_eq!(hi - lo, 60_000_000);
    let (lo, hi) = parse_range("2013-04-05T18:50:00.123Z").unwrap_or_default();
    assert_eq!(hi - lo, 1000);
    assert_eq!(lo, at("2013-04-05T18:50:00Z") + 123_000);
}

#[test]
fn offsets_shift_the_instant() {
    assert_eq!(at("2013-04-05T18:50:00+05:30"), at("2013-04-05T13:20:00Z"),);
    assert_eq!(at("2013-04-05T18:50:00-05:00"), at("2013-04-05T23:50:00Z"));
    assert_eq!(
        at("2013-04-05T13:20:00+00:00") + 5 * HOUR,
        at("2013-04-05T18:20:00Z")
    );
}

#[test]
fn invalid_dates_are_rejected() {
    for bad in [
        "2013-13",
        "2013-02-30",
        "13-01-01",
        "2013-01-01T25:00",
        "2013-01-01T10:00+5",
        "x",
    ] {
        assert!(parse_range(bad).is_none(), "{bad}");
    }
}

#[test]
fn search_prefixes_and_space_for_plus() {
    let d = parse_search("ge2013-04-05T18:50:00 05:30").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.prefix, Prefix::Ge);
    assert_eq!(d.low, at("2013-04-05T13:20:00Z"));
    let d = parse_search("sa2013").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.prefix, Prefix::Sa);
    let e = parse_search("ge2013-04-05T18:50:00 5:30")
        .err()
        .unwrap_or_default();
    assert!(e.contains("%2B"), "{e}");
    assert!(parse_search("2013-04-05 extra").is_err());
}

#[test]
fn references_parse_relative_absolute_and_versioned() {
    let p = |s| parse_reference(s);
    assert_eq!(p("Patient/1"), Some(("Patient".into(), "1".into())));
    assert_eq!(
        p("http://x/fhir/Patient/a-1"),
        Some(("Patient".into(), "a-1".into()))
    );
    assert_eq!(
        p("Patient/1/_history/2"),
        Some(("Patient".into(), "1".into()))
    );
    assert_eq!(p("#contained"), None);
    assert_eq!(p("urn:uuid:5a9f0c36"), None);
}

#[test]
fn extraction_follows_the_table() {
    let obs = serde_json::json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": "2020-01-01"},
    });
    let rows = extract("Observation", &obs);
    assert!(
        rows.tokens
            .contains(&("code", "http://loinc.org".into(), "8867-4".into()))
    );
    assert!(
        rows.tokens
            .contains(&("status", String::new(), "final".into()))
    );
    assert!(
        rows.refs
            .contains(&("patient", "Patient".into(), "p1".into()))
    );
    assert!(
        rows.refs
            .contains(&("subject", "Patient".into(), "p1".into()))
    );
    let date = rows
        .dates
        .iter()
        .find(|d| d.0 == "date")
        .map(|d| (d.1, d.2));
    assert_eq!(date, Some((at("2020-01-01"), super::dates::OPEN_HIGH)));
}

#[test]
fn folding_ignores_case_and_accents() {
    assert_eq!(fold("Chalmérs ÅSA"), "chalmers asa");
}

#[test]
fn npi_check_digit_is_luhn_with_80840() {
    assert!(npi_is_valid("1234567893"));
    assert!(!npi_is_valid("1234567890"));
    assert!(!npi_is_valid("123456789"));
    assert!(!npi_is_valid("60"));
}

#[test]
fn parameter_table_is_consistent_and_covers_the_flows() {
    use super::params::{all, find};
    use crate::interaction::is_resource_type;
    let mut seen = std::collections::HashSet::new();
    for p in all() {
        assert!(is_resource_type(p.resource), "{}", p.resource);
        assert!(
            seen.insert((p.resource, p.name)),
            "duplicate {}.{}",
            p.resource,
            p.name
        );
        assert!(!p.paths.is_empty(), "{}.{}", p.resource, p.name);
        assert!(p.target.is_none_or(is_resource_type));
    }
    let needed = [
        ("Task", "focus"),
        ("Observation", "focus"),
        ("Task", "status"),
        ("AuditEvent", "date"),
        ("AuditEvent", "patient"),
        ("AuditEvent", "agent"),
        ("AuditEvent", "action"),
        ("MedicationDispense", "prescription"),
        ("MedicationRequest", "identifier"),
        ("MedicationRequest", "status"),
        ("MedicationRequest", "authoredon"),
        ("Patient", "birthdate"),
        ("Observation", "date"),
        ("Encounter", "date"),
        ("Coverage", "beneficiary"),
    ];
    for (t, n) in needed {
        assert!(find(t, n).is_some(), "{t}.{n}");
    }
    for t in [
        "Patient",
        "Observation",
        "Encounter",
        "Condition",
        "Procedure",
        "Immunization",
        "DiagnosticReport",
        "MedicationRequest",
        "MedicationDispense",
        "CarePlan",
        "CareTeam",
        "Claim",
        "ExplanationOfBenefit",
        "Coverage",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "Device",
        "Task",
        "AuditEvent",
        "Appointment",
        "AllergyIntolerance",
        "Goal",
        "DocumentReference",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
    ] {
        assert!(all().any(|p| p.resource == t), "{t}");
    }
}

#[test]
fn index_fingerprints_name_each_parameter_of_the_type() {
    use super::reindex::fingerprint;
    assert_eq!(
        fingerprint("MedicationStatement"),
        "v1;subject:reference:subject:;patient:reference:subject:Patient;"
    );
    assert_eq!(
        fingerprint("Person"),
        "v1;link:reference:link.target:;patient:reference:link.target:Patient;"
    );
    assert_eq!(fingerprint("Questionnaire"), "v1;");
}
