use super::*;

pub(super) const GOOD: &str = "\
server:
  listen: 127.0.0.1:0
adapters:
  store:
    kind: store
routes:
  - resources: [\"*\"]
    adapters: [store]
";

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

pub(super) fn problems(text: &str) -> Vec<String> {
    match load_str(text, "gateway.yaml", &no_env) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn minimal_config_loads_with_defaults() {
    let config = load_str(GOOD, "gateway.yaml", &no_env).expect("valid");
    assert_eq!(config.server.listen.port(), 0);
    assert_eq!(config.server.body_limit.as_u64(), 16 * 1024 * 1024);
    assert_eq!(config.routes[0].interactions, vec!["*".to_owned()]);
    assert!(!config.server.trust_forwarded_headers);
}

#[test]
fn unknown_key_is_reported_with_file_line_and_path() {
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  lisen: 1\n",
    );
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("gateway.yaml:3: server"), "{}", p[0]);
    assert!(p[0].contains("unknown field `lisen`"), "{}", p[0]);
}

#[test]
fn wrong_type_is_reported_at_its_line() {
    let text = GOOD.replace("127.0.0.1:0", "not-an-address");
    let p = problems(&text);
    assert!(
        p[0].starts_with("gateway.yaml:2: server.listen: "),
        "{}",
        p[0]
    );
}

#[test]
fn missing_required_section_is_reported() {
    let p = problems("server:\n  listen: 127.0.0.1:0\nadapters:\n  store:\n    kind: store\n");
    assert!(p[0].contains("missing field `routes`"), "{}", p[0]);
}

#[test]
fn route_to_unknown_adapter_is_reported_at_the_route_line() {
    let text = GOOD.replace("adapters: [store]", "adapters: [ehr]");
    let p = problems(&text);
    assert_eq!(
        p,
        vec!["gateway.yaml:8: routes[0].adapters[0]: no adapter named 'ehr' in `adapters`"]
    );
}

#[test]
fn unknown_adapter_kind_is_an_error() {
    let text = GOOD.replace("kind: store", "kind: carrier-pigeon");
    let p = problems(&text);
    assert!(
        p[0].contains("adapters.store") && p[0].contains("carrier-pigeon"),
        "{}",
        p[0]
    );
    assert!(p[0].starts_with("gateway.yaml:"), "{}", p[0]);
}

#[test]
fn env_references_expand_and_unset_ones_fail_with_their_line() {
    let text = GOOD.replace("127.0.0.1:0", "${LISTEN}");
    let env = |name: &str| (name == "LISTEN").then(|| "127.0.0.1:9999".to_owned());
    let config = load_str(&text, "g.yaml", &env).expect("expanded");
    assert_eq!(config.server.listen.port(), 9999);
    let p = problems(&text);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("gateway.yaml:2: server.listen: environment variable LISTEN is not set"),
        "{}",
        p[0]
    );
    let defaulted = GOOD.replace("127.0.0.1:0", "${LISTEN:-127.0.0.1:7}");
    assert_eq!(
        load_str(&defaulted, "g", &no_env)
            .expect("default")
            .server
            .listen
            .port(),
        7
    );
}

#[test]
fn every_unset_env_reference_is_reported_in_one_run() {
    let text = GOOD.replace("127.0.0.1:0", "${LISTEN}").replace(
        "kind: store",
        "kind: ${KIND}\n    url: ${STORE_URL:-sqlite://x.db}",
    );
    let p = problems(&text);
    assert_eq!(
        p,
        [
            "gateway.yaml:2: server.listen: environment variable LISTEN is not set (use ${LISTEN:-default} for a default)",
            "gateway.yaml:5: adapters.store.kind: environment variable KIND is not set (use ${KIND:-default} for a default)",
        ]
    );
}

#[test]
fn bad_base_url_and_resource_type_are_both_reported() {
    let text = GOOD
        .replace(
            "  listen: 127.0.0.1:0\n",
            "  listen: 127.0.0.1:0\n  base_url: ftp://x\n",
        )
        .replace("[\"*\"]", "[Patients]");
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].starts_with("gateway.yaml:3: server.base_url: "),
        "{}",
        p[0]
    );
    assert!(
        p[1].starts_with("gateway.yaml:8: routes[0].resources[0]: 'Patients'"),
        "{}",
        p[1]
    );
}

#[test]
fn data_dir_env_override_applies() {
    let env = |name: &str| (name == "FHIRGATE_DATA_DIR").then(|| "/tmp/fg".to_owned());
    let config = load_str(GOOD, "g", &env).expect("valid");
    assert_eq!(config.server.data_dir, std::path::PathBuf::from("/tmp/fg"));
}

#[test]
fn one_problem_per_broken_section_is_reported_in_one_run() {
    let text = format!(
        "{GOOD}rate_limits:\n  default: {{per_second: fast}}\ncache:\n  max_bytes: 64MiB\n  colour: blue\nbogus: 1\n"
    )
    .replace("127.0.0.1:0", "not-an-address");
    let p = problems(&text);
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        p[0].starts_with("gateway.yaml:2: server.listen: "),
        "{}",
        p[0]
    );
    assert!(
        p.iter()
            .any(|l| l.contains("rate_limits.default.per_second")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|l| l.contains("unknown field `colour`")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|l| l.contains("unknown field `bogus`")),
        "{p:?}"
    );
}

#[test]
fn a_section_set_aside_is_not_reported_missing() {
    // `routes` is required; once set aside for its own problem it is not missing too.
    let text = GOOD.replace("adapters: [store]", "adapters: store-not-a-list");
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("routes"), "{}", p[0]);
}

#[test]
fn buffered_request_budget_defaults_to_256mib_and_must_hold_one_body() {
    let config = load_str(GOOD, "gateway.yaml", &no_env).expect("valid");
    assert_eq!(
        config.server.max_buffered_request_bytes.as_u64(),
        256 * 1024 * 1024
    );
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  body_limit: 2MiB\n  max_buffered_request_bytes: 1MiB\n",
    );
    let p = problems(&text);
    assert_eq!(
        p,
        vec![
            "gateway.yaml:4: server.max_buffered_request_bytes: must be at least server.body_limit (2097152 bytes): a body at that limit must fit"
                .to_owned()
        ]
    );
}

#[test]
fn body_timeouts_default_to_10s_idle_and_60s_total_and_must_be_positive() {
    let config = load_str(GOOD, "gateway.yaml", &no_env).expect("valid");
    assert_eq!(
        config.server.body_timeouts(),
        (
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(60)
        )
    );
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  body_idle_timeout_seconds: 0\n  body_read_timeout_seconds: -1\n",
    );
    assert_eq!(
        problems(&text),
        vec![
            "gateway.yaml:3: server.body_idle_timeout_seconds: must be a number of seconds > 0"
                .to_owned(),
            "gateway.yaml:4: server.body_read_timeout_seconds: must be a number of seconds > 0"
                .to_owned(),
        ]
    );
}

#[test]
fn connection_caps_default_to_the_fd_limit_less_a_reserve_and_256_silent_per_address() {
    let config = load_str(GOOD, "gateway.yaml", &no_env).expect("valid");
    assert_eq!(config.server.max_connections, None);
    assert_eq!(config.server.max_silent_connections_per_ip, 256);
    let cap = |nofile| config.server.connection_cap(nofile);
    // A tenth is kept back for the store, the audit trail and upstream sockets…
    assert_eq!(cap(Some(20_000)).max, 18_000);
    // …at least 256…
    assert_eq!(cap(Some(1024)).max, 768);
    // …and at most half.
    assert_eq!(cap(Some(300)).max, 150);
    assert_eq!(cap(None).max, super::server::UNKNOWN_FD_LIMIT_CONNECTIONS);
    assert_eq!(cap(Some(20_000)).fits, Some(18_000));
}

#[test]
fn an_explicit_max_connections_is_used_as_given_but_not_0() {
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  max_connections: 50000\n  max_silent_connections_per_ip: 0\n",
    );
    let config = load_str(&text, "gateway.yaml", &no_env).expect("valid");
    assert_eq!(config.server.max_silent_connections_per_ip, 0);
    let cap = config.server.connection_cap(Some(20_000));
    // Past what the limit leaves room for: used, and `fits` says so (warned at startup).
    assert_eq!((cap.max, cap.fits), (50_000, Some(18_000)));
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  max_connections: 0\n",
    );
    assert_eq!(
        problems(&text),
        vec!["gateway.yaml:3: server.max_connections: must be at least 1".to_owned()]
    );
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  max_silent_connections_per_ip: -1\n",
    );
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("gateway.yaml:3: server.max_silent_connections_per_ip: "),
        "{}",
        p[0]
    );
}
