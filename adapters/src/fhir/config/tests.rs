//! Unit tests of the `kind: fhir` settings: defaults, unknown keys, auth variants, problems.

use super::*;
use serde_json::json;

fn parse(v: serde_json::Value) -> Result<FhirConfig, serde_json::Error> {
    serde_json::from_value(v)
}

fn problems(v: serde_json::Value) -> Vec<String> {
    parse(v)
        .expect("parses")
        .validate()
        .into_iter()
        .map(|p| format!("{}: {}", p.path, p.problem))
        .collect()
}

#[test]
fn defaults() {
    let c = parse(json!({"base_url": "https://ehr.example.org/fhir"})).expect("parses");
    assert_eq!(c.connect_timeout_seconds, 5.0);
    assert_eq!(c.timeout_seconds, 30.0);
    assert_eq!(c.check_timeout_seconds, 5.0);
    assert_eq!(c.stream_threshold_bytes, 1_048_576);
    assert_eq!(c.max_buffered_bytes, None, "server.max_answer_bytes");
    assert!(c.auth.is_none());
    assert!(c.validate().is_empty());
}

#[test]
fn unknown_keys_are_errors() {
    assert!(parse(json!({"base_url": "http://h", "timeout": 1})).is_err());
    let auth = json!({"base_url": "http://h", "auth": {"method": "client_secret_basic",
        "token_url": "http://h/token", "client_id": "c", "client_secret": "s", "secret": "x"}});
    assert!(parse(auth).is_err());
    let method = json!({"base_url": "http://h", "auth": {"method": "client_secret_post",
        "token_url": "http://h/token", "client_id": "c", "client_secret": "s"}});
    assert!(parse(method).is_err());
}

#[test]
fn private_key_jwt_defaults_to_rs384() {
    let c = parse(
        json!({"base_url": "http://h", "auth": {"method": "private_key_jwt",
        "token_url": "http://h/token", "client_id": "c", "private_key_file": "/run/key.pem",
        "key_id": "k1"}}),
    )
    .expect("parses");
    match c.auth {
        Some(UpstreamAuth::PrivateKeyJwt(p)) => assert_eq!(p.algorithm, SigningAlgorithm::RS384),
        other => panic!("{other:?}"),
    }
    assert!(
        parse(
            json!({"base_url": "http://h", "auth": {"method": "private_key_jwt",
        "token_url": "http://h/token", "client_id": "c", "private_key": "pem",
        "key_id": "k1", "algorithm": "HS256"}})
        )
        .is_err()
    );
}

#[test]
fn secrets_never_show_in_debug() {
    let c = parse(
        json!({"base_url": "http://h", "auth": {"method": "client_secret_basic",
        "token_url": "http://h/token", "client_id": "c", "client_secret": "hunter2"}}),
    )
    .expect("parses");
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn problems_are_reported_with_paths() {
    assert_eq!(
        problems(
            json!({"base_url": "ftp://h", "timeout_seconds": 0, "connect_timeout_seconds": -1,
            "check_timeout_seconds": 0.5, "max_buffered_bytes": 0})
        ),
        vec![
            "base_url: must be an absolute http(s) URL without query, fragment or user info",
            "timeout_seconds: must be a number > 0",
            "connect_timeout_seconds: must be a number > 0",
            "max_buffered_bytes: must be > 0",
        ]
    );
    assert_eq!(
        problems(
            json!({"base_url": "http://h/fhir", "auth": {"method": "client_secret_basic",
            "token_url": "token", "client_id": "", "client_secret": "s",
            "client_secret_file": "/f"}})
        ),
        vec![
            "auth.token_url: must be an absolute http(s) URL",
            "auth.client_id: must not be empty",
            "auth.client_secret: set exactly one of `client_secret` and `client_secret_file`",
        ]
    );
    assert_eq!(
        problems(
            json!({"base_url": "http://h/fhir", "auth": {"method": "private_key_jwt",
            "token_url": "http://h/token", "client_id": "c", "key_id": ""}})
        ),
        vec![
            "auth.private_key: set exactly one of `private_key` and `private_key_file`",
            "auth.key_id: must not be empty",
        ]
    );
}
