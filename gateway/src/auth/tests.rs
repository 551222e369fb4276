//! Unit tests across the auth modules: the verified-token cache and its cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::jwks::{IssuerKeys, KeySet, Source};
use super::sandbox::{SandboxKey, TokenRequest, mint};
use super::validate::{TrustedIssuer, Validator};

const ISS: &str = "http://127.0.0.1:8080/sandbox/auth";
const AUD: &str = "http://127.0.0.1:8080/fhir";

fn validator(key: &SandboxKey) -> Validator {
    let keys = IssuerKeys::new(
        Source::Static(KeySet::from_json(&key.jwks())),
        reqwest::Client::new(),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    let issuer = Arc::new(TrustedIssuer {
        issuer: ISS.into(),
        algorithms: vec![jsonwebtoken::Algorithm::ES384],
        keys,
        introspector: None,
    });
    Validator::new(vec![issuer], vec![AUD.into()], 60)
}

/// Prints the cost of a first (signature-verifying) and a cached validation; run with
/// `cargo test -p fhirgate --lib cached_validation -- --nocapture`.
#[tokio::test]
async fn cached_validation_skips_the_signature_check() {
    let dir = std::env::temp_dir().join(format!("fhirgate-auth-unit-{}", std::process::id()));
    let key = SandboxKey::load_or_create(&dir).expect("key");
    let validator = validator(&key);
    let tokens: Vec<String> = (0..200)
        .map(|_| {
            let request = TokenRequest {
                client_id: "c".into(),
                scope: "system/*.rs".into(),
                ttl: 300,
                ..TokenRequest::default()
            };
            mint(&key, ISS, AUD, &request).expect("mint")
        })
        .collect();
    let started = Instant::now();
    for t in &tokens {
        validator.validate(t).await.expect("valid");
    }
    let uncached = started.elapsed() / 200;
    let started = Instant::now();
    for t in &tokens {
        validator.validate(t).await.expect("valid");
    }
    let cached = started.elapsed() / 200;
    println!("ES384 validation: uncached {uncached:?}/token, cached {cached:?}/token");
    assert!(
        cached < uncached,
        "the cache must be cheaper than verifying"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
