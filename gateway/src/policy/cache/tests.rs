//! Unit tests: cache key normalization, Cache-Control parsing, ETag matching, bundle writes.

use axum::http::{HeaderMap, HeaderValue, header};
use fhirgate_adapters::interaction::Principal;

use super::key::{Access, Touched, bundle_writes, cache_key, directives, none_match};

fn principal(patient: &str, scopes: &[&str]) -> Principal {
    Principal {
        client_id: "app".into(),
        fhir_user: None,
        patient: Some(patient.into()),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn query_order_and_accept_spacing_do_not_matter() {
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/fhir+json; q=1"),
    );
    let a = cache_key(
        "http://h/fhir",
        "/fhir/Observation",
        Some("code=1&patient=p&_count=5"),
        &h,
        &Access::Anonymous,
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("Application/FHIR+json;q=1"),
    );
    let b = cache_key(
        "http://h/fhir",
        "/fhir/Observation",
        Some("_count=5&patient=p&code=1"),
        &h,
        &Access::Anonymous,
    );
    assert_eq!(a, b);
}

#[test]
fn host_accept_and_access_are_part_of_the_key() {
    let h = HeaderMap::new();
    let key = |base: &str, access: &Access| cache_key(base, "/fhir/Patient/1", None, &h, access);
    let a = Access::of(&principal("A", &["patient/*.rs"]));
    let b = Access::of(&principal("B", &["patient/*.rs"]));
    assert_ne!(key("http://h/fhir", &a), key("http://h/fhir", &b));
    assert_ne!(key("http://h/fhir", &a), key("http://other/fhir", &a));
    let narrower = Access::of(&principal("A", &["patient/Observation.rs"]));
    assert_ne!(key("http://h/fhir", &a), key("http://h/fhir", &narrower));
    let reordered = Access::of(&principal("A", &["launch/patient", "patient/*.rs"]));
    let reordered2 = Access::of(&principal("A", &["patient/*.rs", "launch/patient"]));
    assert_eq!(
        key("http://h/fhir", &reordered),
        key("http://h/fhir", &reordered2)
    );
    let mut json = HeaderMap::new();
    json.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    assert_ne!(
        key("http://h/fhir", &a),
        cache_key("http://h/fhir", "/fhir/Patient/1", None, &json, &a)
    );
}

#[test]
fn cache_control_directives() {
    let mut h = HeaderMap::new();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("No-Cache, max-age=60"),
    );
    assert!(directives(&h).no_cache && !directives(&h).no_store);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    assert!(directives(&h).no_store);
    let mut p = HeaderMap::new();
    p.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    assert!(directives(&p).no_cache);
}

#[test]
fn if_none_match_uses_weak_comparison() {
    let mut h = HeaderMap::new();
    h.insert(
        header::IF_NONE_MATCH,
        HeaderValue::from_static("\"x\", W/\"3\""),
    );
    assert!(none_match(&h, "W/\"3\""));
    assert!(none_match(&h, "\"3\""));
    assert!(!none_match(&h, "W/\"4\""));
}

#[test]
fn bundle_entries_name_what_they_write() {
    let body = br#"{"resourceType":"Bundle","type":"transaction","entry":[
        {"request":{"method":"PUT","url":"Patient/1"}},
        {"request":{"method":"POST","url":"Observation"}},
        {"request":{"method":"GET","url":"Encounter/9"}},
        {"request":{"method":"PUT","url":"Patient?identifier=x"}}]}"#;
    assert_eq!(
        bundle_writes(body),
        Some(vec![
            Touched::Type("Patient".into(), Some("1".into())),
            Touched::Type("Observation".into(), None),
            Touched::Type("Patient".into(), None),
        ])
    );
    assert_eq!(bundle_writes(b"not json"), None);
}
