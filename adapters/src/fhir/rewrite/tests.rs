//! Unit tests of URL rewriting: matching on parsed URLs, byte-exact suffixes, idempotency.

use super::*;

fn base(s: &str) -> Base {
    Base::parse(s).expect("valid base")
}

fn rw(link: &str, up: &str, public: &str) -> Option<String> {
    rewrite(link, &base(up), &base(public))
}

const UP: &str = "http://ehr.internal:8080/fhir/R4";
const GW: &str = "https://gw.example.org/fhir";

#[test]
fn base_is_normalized() {
    assert_eq!(base("https://GW.example.org:443/fhir/").as_str(), GW);
    assert_eq!(base("http://h:80").as_str(), "http://h");
    assert_eq!(base("http://h:8080/a/b//").as_str(), "http://h:8080/a/b");
    assert_eq!(
        base("https://gw.example.org:8443/fhir").authority(),
        "gw.example.org:8443"
    );
    assert_eq!(base(GW).authority(), "gw.example.org");
    assert_eq!(base(GW).scheme(), "https");
}

#[test]
fn base_rejects_non_bases() {
    for bad in [
        "ftp://h/fhir",
        "Patient/1",
        "http://h/fhir?x=1",
        "http://u:p@h/fhir",
        "http://h/#f",
    ] {
        assert!(Base::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn rewrites_resource_urls() {
    assert_eq!(
        rw(
            "http://ehr.internal:8080/fhir/R4/Patient/1/_history/2",
            UP,
            GW
        )
        .as_deref(),
        Some("https://gw.example.org/fhir/Patient/1/_history/2")
    );
    assert_eq!(
        rw("http://ehr.internal:8080/fhir/R4", UP, GW).as_deref(),
        Some(GW)
    );
    assert_eq!(
        rw("http://ehr.internal:8080/fhir/R4/", UP, GW).as_deref(),
        Some("https://gw.example.org/fhir/")
    );
    assert_eq!(
        rw(
            "http://ehr.internal:8080/fhir/R4?_getpages=abc&_offset=20",
            UP,
            GW
        )
        .as_deref(),
        Some("https://gw.example.org/fhir?_getpages=abc&_offset=20")
    );
}

#[test]
fn query_and_fragment_bytes_are_kept() {
    let link = "http://ehr.internal:8080/fhir/R4/Observation?code=http://loinc.org|8867-4\
                &date=ge2013-04-05T18:50:00+05:30&x=a%2Fb&name=Jos\u{e9}&n=M%C3%BCller#frag";
    let expected = "https://gw.example.org/fhir/Observation?code=http://loinc.org|8867-4\
                    &date=ge2013-04-05T18:50:00+05:30&x=a%2Fb&name=Jos\u{e9}&n=M%C3%BCller#frag";
    assert_eq!(rw(link, UP, GW).as_deref(), Some(expected));
}

#[test]
fn path_rest_bytes_are_kept() {
    assert_eq!(
        rw("http://ehr.internal:8080/fhir/R4/Binary/a%2Fb", UP, GW).as_deref(),
        Some("https://gw.example.org/fhir/Binary/a%2Fb")
    );
}

#[test]
fn default_ports_are_equivalent() {
    assert_eq!(
        rw(
            "https://ehr.example.org:443/fhir/Patient/1",
            "https://ehr.example.org/fhir",
            GW
        )
        .as_deref(),
        Some("https://gw.example.org/fhir/Patient/1")
    );
    assert_eq!(
        rw(
            "https://ehr.example.org/fhir/Patient/1",
            "https://ehr.example.org:443/fhir",
            GW
        )
        .as_deref(),
        Some("https://gw.example.org/fhir/Patient/1")
    );
    assert_eq!(
        rw(
            "http://ehr.example.org:80/fhir/Patient/1",
            "http://ehr.example.org/fhir",
            "https://gw:443/api"
        )
        .as_deref(),
        Some("https://gw/api/Patient/1")
    );
}

#[test]
fn scheme_and_host_are_case_insensitive() {
    assert_eq!(
        rw("HTTP://EHR.Internal:8080/fhir/R4/Patient/1", UP, GW).as_deref(),
        Some("https://gw.example.org/fhir/Patient/1")
    );
}

#[test]
fn other_origins_are_left_alone() {
    for link in [
        "https://ehr.internal:8080/fhir/R4/Patient/1", // scheme
        "http://ehr.internal:8081/fhir/R4/Patient/1",  // port
        "http://ehr.internal/fhir/R4/Patient/1",       // default port 80 ≠ 8080
        "http://other:8080/fhir/R4/Patient/1",         // host
        "http://user@ehr.internal:8080/fhir/R4/Patient/1",
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    ] {
        assert_eq!(rw(link, UP, GW), None, "{link}");
    }
}

#[test]
fn path_prefix_matches_on_segment_boundaries() {
    assert_eq!(
        rw("http://ehr.internal:8080/fhir/R4x/Patient/1", UP, GW),
        None
    );
    assert_eq!(
        rw("http://ehr.internal:8080/fhir/R/Patient/1", UP, GW),
        None
    );
    assert_eq!(rw("http://ehr.internal:8080/fhir", UP, GW), None);
    assert_eq!(rw("http://ehr.internal:8080/fhirR4", UP, GW), None);
    // A percent-encoded segment is the same segment.
    assert_eq!(
        rw("http://ehr.internal:8080/%66hir/R4/Patient/1", UP, GW).as_deref(),
        Some("https://gw.example.org/fhir/Patient/1")
    );
}

#[test]
fn root_base_matches_every_path() {
    assert_eq!(
        rw("http://up:9000/Patient/1?x=1", "http://up:9000/", GW).as_deref(),
        Some("https://gw.example.org/fhir/Patient/1?x=1")
    );
    assert_eq!(
        rw("http://up:9000", "http://up:9000", GW).as_deref(),
        Some(GW)
    );
}

#[test]
fn relative_and_non_http_urls_are_left_alone() {
    for link in [
        "Patient/1",
        "/fhir/R4/Patient/1",
        "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
        "urn:oid:1.2.3",
        "",
        " http://ehr.internal:8080/fhir/R4/Patient/1",
        "http:ehr.internal:8080/fhir/R4/Patient/1",
        "http:\\\\ehr.internal:8080\\fhir\\R4\\Patient\\1",
        "http://ehr.internal:8080/fhir/R4/../secret",
        "http://ehr.internal:8080/fhir/R4/%2e%2e/secret",
    ] {
        assert_eq!(rw(link, UP, GW), None, "{link:?}");
    }
}

#[test]
fn rewriting_is_idempotent() {
    let link = "http://ehr.internal:8080/fhir/R4/Patient?name=a+b&_count=1";
    let once = rw(link, UP, GW).expect("rewritten");
    assert_eq!(
        once,
        "https://gw.example.org/fhir/Patient?name=a+b&_count=1"
    );
    assert_eq!(rw(&once, UP, GW), None);
    // Same host and scheme, public base below the upstream base: never nested twice.
    let public = "http://ehr.internal:8080/fhir/R4/gw";
    let once = rw(link, UP, public).expect("rewritten");
    assert_eq!(
        once,
        "http://ehr.internal:8080/fhir/R4/gw/Patient?name=a+b&_count=1"
    );
    assert_eq!(rw(&once, UP, public), None);
    // Upstream below the public base: links belong to the longer (upstream) base.
    let up = "http://h:8080/fhir/R4";
    let once = rw("http://h:8080/fhir/R4/Patient/1", up, "http://h:8080/fhir").expect("rw");
    assert_eq!(once, "http://h:8080/fhir/Patient/1");
}

#[test]
fn never_doubles_the_port() {
    let once = rw(
        "http://ehr.internal:8080/fhir/R4/Patient/1",
        UP,
        "https://gw:443/fhir",
    )
    .expect("rewritten");
    assert_eq!(once, "https://gw/fhir/Patient/1");
    assert_eq!(rw(&once, UP, "https://gw:443/fhir"), None);
    assert!(!once.contains(":443"));
}

#[test]
fn same_base_leaves_links_unchanged() {
    assert_eq!(
        rw("http://ehr.internal:8080/fhir/R4/Patient/1", UP, UP),
        None
    );
}

#[test]
fn ipv6_hosts_match() {
    assert_eq!(
        rw(
            "http://[::1]:8080/fhir/Patient/1",
            "http://[0:0::1]:8080/fhir",
            GW
        )
        .as_deref(),
        Some("https://gw.example.org/fhir/Patient/1")
    );
}

#[test]
fn origin_shortcut_agrees_with_the_url_parser() {
    let bases = [
        "http://127.0.0.1:18091/fhir",
        "https://gw.example.org/fhir",
        "http://Ehr.Internal:8080/fhir",
    ];
    let links = [
        "http://127.0.0.1:18093/fhir/Observation/1",
        "http://127.0.0.1:18091/fhir/Observation/1",
        "http://127.1:18091/fhir/Observation/1",
        "http://0x7f.0.0.1:18091/fhir/Observation/1",
        "https://GW.EXAMPLE.ORG:443/fhir/Patient/1",
        "https://gw.example.org:0443/fhir/Patient/1",
        "https://gw.example.org:/fhir/Patient/1",
        "https://gw.example.org./fhir/Patient/1",
        "https://user@gw.example.org/fhir/Patient/1",
        "https://g%77.example.org/fhir/Patient/1",
        "http://ehr.internal:8080/fhir/x",
        "http://ehr.internal:80/fhir/x",
        "http://ehr.internal/fhir/x",
        "http://other.internal:8080/fhir/x",
        "http://[::1]:8080/fhir/x",
    ];
    for b in bases {
        let base = base(b);
        for link in links {
            let rest = link.split_once("://").map(|(_, r)| r).unwrap_or("");
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            if let Some(known) = base.known_origin(authority) {
                assert_eq!(known, base.same_origin(link), "{b} vs {link}");
            }
        }
    }
    // The common cases are decided without parsing.
    assert_eq!(base(bases[0]).known_origin("127.0.0.1:18093"), Some(false));
    assert_eq!(base(bases[1]).known_origin("gw.example.org"), Some(true));
    assert_eq!(base(bases[1]).known_origin("ehr.example.org"), Some(false));
}

#[test]
fn the_exact_prefix_fast_path_agrees_with_the_full_rules() {
    let bases = [
        "http://127.0.0.1:18091/fhir",
        UP,
        GW,
        "http://h",
        "http://h/a%20b/fhir",
    ];
    let rests = [
        "",
        "/",
        "/Patient/1",
        "?_count=2",
        "#f",
        "//Patient",
        "/Patient/1/_history/2?x=%2F|y",
        "/./Patient",
        "/../x",
        "/Patient/..",
        "/Patient/.?x",
        "/..#f",
        "/a/.b/c",
        "/...",
        "/Patient/.",
        "/.well-known/smart",
        "/%2E/x",
        "/a%2Fb",
        "\\Patient",
        "/Patient\\1",
        "X/Patient",
        ":8080/fhir",
        "x/Patient",
        "/fhir",
    ];
    let mut fast = 0;
    for b in bases {
        let base = base(b);
        for rest in rests {
            for link in [format!("{b}{rest}"), format!("{}{rest}", base.as_str())] {
                let full = base.parsed_suffix_start(&link);
                if let Some(start) = base.exact_suffix_start(&link) {
                    fast += 1;
                    assert_eq!(Some(start), full, "{b} + {rest}");
                }
                assert_eq!(base.suffix_start(&link), full, "{b} + {rest}");
            }
        }
    }
    // The links a server writes under its own base take the fast path.
    assert!(fast >= 40, "{fast}");
    assert_eq!(
        base(UP).exact_suffix_start(&format!("{UP}/Observation/1")),
        Some(UP.len())
    );
}

#[test]
fn a_link_is_left_under_the_public_base_only_when_the_origins_agree() {
    let up = base("http://h/fhir");
    let same_origin = base("http://h/fhir/R4");
    let other = base("http://g/fhir/R4");
    assert!(up.same_origin_as(&same_origin));
    assert!(!up.same_origin_as(&other));
    assert_eq!(
        rewrite("http://h/fhir/R4/Patient/1", &up, &same_origin),
        None
    );
    assert_eq!(
        rewrite("http://h/fhir/R4/Patient/1", &up, &other).as_deref(),
        Some("http://g/fhir/R4/R4/Patient/1")
    );
}
