//! The e-prescribing adapters' settings are checked by `fhirgate check-config` with key paths
//! (an `ncpdp` adapter's `store` must name an adapter defined before it; NCPDP IDs have 7
//! digits; endpoints are URLs or gateway paths), and `serve` refuses two adapters serving
//! the same endpoint path.

mod eprescribing_support;
mod support;

use eprescribing_support::{Options, config};
use support::run_cli;

fn check(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("g.yaml"), text).expect("write");
    let (code, _, stderr) = run_cli(&["check-config", "--config", "g.yaml"], dir.path());
    (code, stderr)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

#[test]
fn the_test_config_is_valid() {
    let (code, stderr) = check(&config(&Options::default()));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_store_must_be_an_adapter_defined_earlier() {
    let text = config(&Options::default()).replace("    store: store\n", "    store: nope\n");
    let (code, stderr) = check(&text);
    assert_eq!(code, 2);
    let line = line_of(&text, "store: nope");
    assert_eq!(
        stderr.trim(),
        format!("g.yaml:{line}: adapters.pharmacy.store: no adapter named 'nope' in `adapters`")
    );
    // Defined, but after the ncpdp adapter: it would not be built yet.
    let text = config(&Options::default())
        .replace("    store: store\n", "    store: later\n")
        .replace(
            "routes:\n",
            "  later:\n    kind: store\n    url: sqlite://later.db\nroutes:\n",
        );
    let (code, stderr) = check(&text);
    assert_eq!(code, 2);
    assert!(
        stderr
            .contains("adapters.pharmacy.store: adapter 'later' must be defined before 'pharmacy'"),
        "{stderr}"
    );
}

#[test]
fn pharmacy_settings_are_checked_with_their_key_paths() {
    let text = config(&Options::default())
        .replace("ncpdp_id: \"9999999\"", "ncpdp_id: \"99-99\"")
        .replace(
            "endpoint: /sandbox/pharmacy/script",
            "endpoint: ftp://pharmacy",
        )
        .replace(
            "retry: {initial_ms: 100, max_ms: 400}",
            "retry: {initial_ms: 100, max_ms: 50}",
        )
        .replace("    delay_seconds: 0.5\n", "    delay_seconds: -1\n");
    let (code, stderr) = check(&text);
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "adapters.sandbox-pharmacy.delay_seconds: must be between 0 and 3600",
        "adapters.pharmacy.retry.max_ms: must be at least initial_ms",
        "adapters.pharmacy.pharmacies[0].ncpdp_id: an NCPDP Provider ID has 7 digits",
        "adapters.pharmacy.pharmacies[0].endpoint: must be an http(s):// URL or a path",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    let unknown = config(&Options::default())
        .replace("    admin: true\n", "    admin: true\n    colour: blue\n");
    let (code, stderr) = check(&unknown);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown field `colour`"), "{stderr}");
}

#[test]
fn two_adapters_serving_the_same_endpoint_refuse_to_start() {
    let text = config(&Options::default()).replace(
        "  pharmacy:\n",
        "  other-sandbox:\n    kind: sandbox-pharmacy\n    credential_file: other.secret\n  pharmacy:\n",
    );
    let (code, stderr) = check(&text);
    assert_eq!(code, 0, "valid config: {stderr}");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("g.yaml"), &text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["serve", "--config", "g.yaml"])
        .current_dir(dir.path())
        .env("FHIRGATE_DATA_DIR", dir.path().join("data"))
        .output()
        .expect("serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("endpoint /sandbox/pharmacy/script")
            && stderr.contains("serves it already"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "never ready");
}
