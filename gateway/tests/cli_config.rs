//! `fhirgate check-config` and `serve` refuse bad configs with `file:line: key.path: problem`.

mod support;

use support::{Gateway, run_cli, store_config};

#[test]
fn check_config_accepts_the_shipped_gateway_yaml() {
    let (code, stdout, stderr) = run_cli(&["check-config"], &support::repo_root());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "gateway.yaml: ok");
}

#[test]
fn check_config_reports_unknown_key_with_file_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = store_config("  colour: blue\n");
    std::fs::write(dir.path().join("bad.yaml"), text).expect("write");
    let (code, _, stderr) = run_cli(&["check-config", "--config", "bad.yaml"], dir.path());
    assert_eq!(code, 2);
    let line = stderr.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("bad.yaml:3: server.colour: unknown field `colour`"),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_wrong_type_and_dangling_route() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = store_config("").replace("adapters: [store]", "adapters: [ehr]");
    let line = text
        .lines()
        .position(|l| l.contains("adapters: [ehr]"))
        .expect("route line")
        + 1;
    std::fs::write(dir.path().join("g.yaml"), &text).expect("write");
    let (code, _, stderr) = run_cli(&["check-config", "--config", "g.yaml"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        format!("g.yaml:{line}: routes[0].adapters[0]: no adapter named 'ehr' in `adapters`")
    );
    let text = store_config("  body_limit: lots\n");
    std::fs::write(dir.path().join("g.yaml"), text).expect("write");
    let (code, _, stderr) = run_cli(&["check-config", "--config", "g.yaml"], dir.path());
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("g.yaml:3: server.body_limit: "),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_an_invalid_config_with_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("g.yaml"), "server:\n  listen: nowhere\n").expect("write");
    let (code, stdout, stderr) = run_cli(&["serve", "--config", "g.yaml"], dir.path());
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("g.yaml:2: server.listen: "), "{stderr}");
}

#[test]
fn serve_prints_exactly_the_ready_line_and_exits_0_on_sigterm() {
    let mut gw = Gateway::start(&store_config(""));
    assert!(gw.url.starts_with("http://127.0.0.1:"), "{}", gw.url);
    let port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert_ne!(port, 0);
    let status = gw.terminate();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serve_logs_json_lines_on_stderr() {
    let gw = Gateway::start(&store_config(""));
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        support::client()
            .get(format!("{}/healthz", gw.url))
            .send()
            .await
            .expect("healthz")
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = gw.logs();
    assert!(!logs.is_empty());
    for line in &logs {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }
    assert!(
        logs.iter().any(|l| l.contains("\"path\":\"/healthz\"")),
        "{logs:?}"
    );
}

#[test]
fn token_refuses_unknown_scopes_and_warns_about_patient_scopes_without_a_patient() {
    let gw = Gateway::start(&store_config(""));
    let config = gw.dir.path().join("gateway.yaml");
    let config = config.to_str().expect("utf-8 path");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"))
            .args(["token", "--config", config])
            .args(args)
            .env("FHIRGATE_DATA_DIR", gw.dir.path().join("data"))
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["--scope", "bogus"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stdout.is_empty() && stderr.contains("'bogus' is not a SMART scope"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["--scope", "launch/patient patient/*.rs"]);
    assert_eq!(code, Some(0), "minted, but with a warning");
    assert!(
        stderr.contains("warning: launch/patient and patient/ scopes need --patient"),
        "{stderr}"
    );
    let (code, stdout, _) = run(&["--scope", "launch/patient patient/*.rs", "--patient", "p1"]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim().split('.').count(), 3, "one JWT on stdout");
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let gw = Gateway::start(&store_config(""));
    let mode = std::fs::metadata(gw.dir.path().join("data"))
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn check_config_warns_when_no_token_can_ever_be_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = "adapters:\n  store:\n    kind: store\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n";
    std::fs::write(dir.path().join("g.yaml"), text).expect("write");
    let (code, stdout, stderr) = run_cli(&["check-config", "--config", "g.yaml"], dir.path());
    assert_eq!(code, 0, "a deny-all config is valid");
    assert_eq!(stdout.trim(), "g.yaml: ok");
    assert!(
        stderr.contains("warning: auth: no issuer is trusted and the sandbox is off"),
        "{stderr}"
    );
}
