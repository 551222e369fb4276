//! `${VAR}` references: values are text, never YAML; typed fields; defaults; all problems
//! in one run with their lines; the store's cap on `server.max_bundle_entries`.

use super::load_str;
use super::tests::{GOOD, no_env, problems};

/// A 32-character tail, so a value passes `audit.key`'s length check.
const TAIL: &str = "0123456789abcdef0123456789abcdef";

fn with_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

fn problems_with(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    match load_str(text, "gateway.yaml", env) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    }
}

fn audit_key(line: &str, value: &str) -> Option<String> {
    let text = format!("{GOOD}audit:\n  {line}\n");
    let env = with_env(&[("FG_KEY", value)]);
    load_str(&text, "g", &env).expect("loads").audit.key
}

#[test]
fn a_value_with_hash_is_kept_whole_not_cut_at_a_comment() {
    let value = format!("short #{TAIL}");
    assert_eq!(audit_key("key: ${FG_KEY}", &value), Some(value));
}

#[test]
fn a_value_is_never_read_as_yaml_syntax() {
    for prefix in [
        "*anchor",
        "&a ",
        "!!int ",
        "[1, 2] ",
        "{a: 1} ",
        "- item ",
        "'q' ",
        "\"dq\" ",
        "a: b ",
        "| ",
        "> ",
        "--- ",
        "%YAML ",
        "@",
        "`",
        "? ",
        "x # c ",
        "\t",
        "\\n ",
        "${NESTED} ",
    ] {
        let value = format!("{prefix}{TAIL}");
        for line in ["key: ${FG_KEY}", "key: \"${FG_KEY}\"", "key: '${FG_KEY}'"] {
            assert_eq!(
                audit_key(line, &value),
                Some(value.clone()),
                "{line} {value:?}"
            );
        }
        let mixed = audit_key("key: pre-${FG_KEY}-post", &value);
        assert_eq!(mixed, Some(format!("pre-{value}-post")));
    }
}

#[test]
fn a_newline_in_a_value_injects_no_key() {
    let value = format!("{TAIL}\nserver:\n  bogus_injected_key: 1");
    assert_eq!(audit_key("key: ${FG_KEY}", &value), Some(value));
    let text = GOOD.replace("127.0.0.1:0", "${LISTEN}");
    let env = with_env(&[("LISTEN", "127.0.0.1:1\n  bogus_injected_key: 1")]);
    let p = problems_with(&text, &env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("gateway.yaml:2: server.listen: invalid socket address syntax"),
        "{}",
        p[0]
    );
}

#[test]
fn a_pipe_after_a_hash_is_still_checked() {
    let text = GOOD.replace(
        "kind: store\n",
        "kind: store\n  ehr:\n    kind: hl7v2\n    store: store\n    sending_facility: ${FG_SF}\n",
    );
    let env = with_env(&[("FG_SF", "GEN # |bad")]);
    let p = problems_with(&text, &env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("gateway.yaml:9: adapters.ehr.sending_facility: "),
        "{}",
        p[0]
    );
    let literal = text.replace("${FG_SF}", "'GEN|bad'");
    let q = problems(&literal);
    assert_eq!(p, q);
    let env = with_env(&[("FG_SF", "GENHOSP^2.16.840.1.113883.19.5^ISO")]);
    assert!(problems_with(&text, &env).is_empty());
}

#[test]
fn whole_references_are_typed_by_their_field() {
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  max_bundle_entries: ${N}\n  trust_forwarded_headers: ${TF}\n  shutdown_grace_seconds: ${G}\n",
    ) + "audit:\n  key: ${FG_KEY}\n";
    let digits = "012345678901234567890123456789012345";
    let env = with_env(&[
        ("N", "250"),
        ("TF", "true"),
        ("G", "2.5"),
        ("FG_KEY", digits),
    ]);
    let config = load_str(&text, "g", &env).expect("typed");
    assert_eq!(config.server.max_bundle_entries, 250);
    assert!(config.server.trust_forwarded_headers);
    assert_eq!(config.server.shutdown_grace_seconds, 2.5);
    assert_eq!(config.audit.key.as_deref(), Some(digits));
    let env = with_env(&[
        ("N", "250 # 9"),
        ("TF", "true"),
        ("G", "2"),
        ("FG_KEY", digits),
    ]);
    let p = problems_with(&text, &env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with(
            "gateway.yaml:3: server.max_bundle_entries: invalid type: string \"250 # 9\""
        ),
        "{}",
        p[0]
    );
}

#[test]
fn defaults_apply_only_when_unset() {
    let text = GOOD.replace("127.0.0.1:0", "\"${HOST:-127.0.0.1}:${PORT:-7}\"");
    let config = load_str(&text, "g", &no_env).expect("defaults");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:7");
    let env = with_env(&[("PORT", "9")]);
    let config = load_str(&text, "g", &env).expect("env wins");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:9");
    let empty = format!("{GOOD}audit:\n  key: ${{FG_KEY:-}}{TAIL}\n");
    let config = load_str(&empty, "g", &no_env).expect("empty default");
    assert_eq!(config.audit.key.as_deref(), Some(TAIL));
}

#[test]
fn unset_and_unterminated_references_are_all_reported_with_lines() {
    let text = GOOD
        .replace("127.0.0.1:0", "${FG_A")
        .replace("kind: store", "kind: \"${KIND}\"")
        .replace("[store]", "[\"${R1}\", '${R2:-store}', \"${R3}\"]")
        + "# ${IN_A_COMMENT}\naudit:\n  key: x${} # ${TRAILING_COMMENT}\n";
    let p = problems(&text);
    assert_eq!(
        p,
        [
            "gateway.yaml:2: server.listen: unterminated reference `${FG_A`: a `${` needs its `}`",
            "gateway.yaml:5: adapters.store.kind: environment variable KIND is not set (use ${KIND:-default} for a default)",
            "gateway.yaml:8: routes[0].adapters[0]: environment variable R1 is not set (use ${R1:-default} for a default)",
            "gateway.yaml:8: routes[0].adapters[2]: environment variable R3 is not set (use ${R3:-default} for a default)",
            "gateway.yaml:11: audit.key: `${}`: `` is not a variable name (letters, digits, `_`)",
        ]
    );
}

#[test]
fn keys_are_not_expanded_and_lines_keep_their_numbers() {
    let text = GOOD.replace(
        "  listen: 127.0.0.1:0\n",
        "  base_url: \"${BASE}\n    /fhir\"\n  ${K}: 1\n",
    );
    let env = with_env(&[("BASE", "https://gw.example.org"), ("K", "listen")]);
    let p = problems_with(&text, &env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("gateway.yaml:4: server.${K}: unknown field `${K}`"),
        "{}",
        p[0]
    );
}

#[test]
fn max_bundle_entries_is_capped_by_the_embedded_store() {
    let at = |n: &str| {
        GOOD.replace(
            "  listen:",
            &format!("  max_bundle_entries: {n}\n  listen:"),
        )
    };
    assert!(problems(&at("1000")).is_empty());
    assert_eq!(
        problems(&at("1001")),
        [
            "gateway.yaml:2: server.max_bundle_entries: must be at most 1000: the embedded store (adapter 'store') refuses a larger Bundle with 413 on its own"
        ]
    );
}

#[test]
fn a_plain_reference_in_a_flow_collection_is_a_syntax_error_at_its_line() {
    // `{` and `}` are flow indicators: inside `[...]` a reference must be quoted.
    let text = GOOD.replace("[store]", "[${R1}]");
    let env = with_env(&[("R1", "store")]);
    let p = problems_with(&text, &env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        p[0],
        "gateway.yaml:8: routes[0].adapters: did not find expected ',' or ']' \
         (inside [...] or {...} a ${...} reference must be quoted: \"${VAR}\")"
    );
    assert!(problems_with(&GOOD.replace("[store]", "[\"${R1}\"]"), &env).is_empty());
}
