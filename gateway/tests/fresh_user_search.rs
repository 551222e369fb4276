//! Search findings of a fresh-user attack run, through the real binary with the shipped
//! `gateway.yaml` (embedded store seeded with the two Synthea patients and the sandbox
//! bundle): `_id:not` and `_id:missing` (FHIR R4 search.html "Modifiers": `:missing`, and
//! `:not` on a token), a patient-restricted `GET /fhir/Coverage` finding the patient's
//! Coverage (CompartmentDefinition `patient`: Coverage via `beneficiary`), and query names
//! or values that are not UTF-8 once percent-decoded answering 400 before any adapter.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::{Gateway, authed, repo_root};

/// Seeded Synthea patient Buster Hoeger.
const A: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
/// Seeded Synthea patient Liz Conn.
const B: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";

/// The shipped gateway.yaml on a free port, with `edit` applied to its text.
fn shipped_with(edit: impl Fn(String) -> String) -> Gateway {
    let config = std::fs::read_to_string(repo_root().join("gateway.yaml"))
        .expect("gateway.yaml")
        .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0");
    Gateway::start(&edit(config))
}

/// `GET` with `client`: status and JSON body.
async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = client.get(url).send().await.expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    (status, body)
}

/// The searchset's `total` and its match ids, sorted.
fn matches(bundle: &Value) -> (Value, Vec<String>) {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    (bundle["total"].clone(), ids)
}

fn invalid(diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": diagnostics}]})
}

#[tokio::test]
async fn id_not_and_id_missing_follow_the_spec() {
    let gw = shipped_with(|c| c);
    let c = gw.system_client();
    let mut both = vec![A.to_owned(), B.to_owned()];
    both.sort();
    for (query, total, ids) in [
        (format!("_id:not={A}"), 1, vec![B.to_owned()]),
        (format!("_id:not={A},{B}"), 0, vec![]),
        (format!("_id:not={A}&_id:not={B}"), 0, vec![]),
        ("_id:not=nobody".to_owned(), 2, both.clone()),
        ("_id:missing=false".to_owned(), 2, both.clone()),
        ("_id:missing=true".to_owned(), 0, vec![]),
        (format!("_id:missing=false&_id={B}"), 1, vec![B.to_owned()]),
    ] {
        let (status, bundle) = get(&c, &gw.fhir(&format!("/Patient?{query}"))).await;
        assert_eq!(status, 200, "{query}: {bundle}");
        assert_eq!(matches(&bundle), (json!(total), ids), "{query}: {bundle}");
    }
    // `:not` on another type, with a count.
    let (status, bundle) = get(
        &c,
        &gw.fhir("/Coverage?_id:not=sandbox-coverage-buster&_total=accurate"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        matches(&bundle),
        (json!(1), vec!["sandbox-coverage-liz".to_owned()])
    );
    for (query, why) in [
        ("_id:missing=maybe", "_id:missing takes true or false"),
        ("_id:exact=x", "modifier ':exact' is not supported on '_id'"),
        (
            "_lastUpdated:not=2020",
            "modifier ':not' is not supported on '_lastUpdated'",
        ),
    ] {
        let (status, body) = get(&c, &gw.fhir(&format!("/Patient?{query}"))).await;
        assert_eq!((status, body), (400, invalid(why)), "{query}");
    }
}

#[tokio::test]
async fn a_patient_token_finds_its_own_coverage_without_parameters() {
    let gw = shipped_with(|c| c);
    let token = gw.token_with(&[
        "--scope",
        "launch/patient patient/Coverage.rs",
        "--patient",
        A,
    ]);
    let patient = authed(&token);
    let (status, bundle) = get(&patient, &gw.fhir("/Coverage")).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(
        matches(&bundle),
        (json!(1), vec!["sandbox-coverage-buster".to_owned()])
    );
    assert_eq!(
        bundle["entry"][0]["resource"]["beneficiary"]["reference"],
        format!("Patient/{A}")
    );
    assert!(!bundle.to_string().contains(B), "{bundle}");
    // A Coverage where A is the beneficiary and a relative the policy holder and
    // subscriber is A's too; another patient's Coverage stays out.
    let system = gw.system_client();
    let family = json!({"resourceType": "Coverage", "id": "family-plan", "status": "active",
        "policyHolder": {"reference": "RelatedPerson/parent"},
        "subscriber": {"reference": "RelatedPerson/parent"},
        "beneficiary": {"reference": format!("Patient/{A}")},
        "payor": [{"reference": "Organization/sandbox-payer"}]});
    let r = system
        .put(gw.fhir("/Coverage/family-plan"))
        .header("content-type", "application/fhir+json")
        .body(family.to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 201);
    let (status, bundle) = get(&patient, &gw.fhir("/Coverage?status=active")).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(
        matches(&bundle),
        (
            json!(2),
            vec![
                "family-plan".to_owned(),
                "sandbox-coverage-buster".to_owned()
            ]
        )
    );
    assert!(!bundle.to_string().contains(B), "{bundle}");
    // Naming another patient is still refused.
    let (status, _) = get(
        &patient,
        &gw.fhir(&format!("/Coverage?beneficiary=Patient/{B}")),
    )
    .await;
    assert_eq!(status, 403);
}

/// An upstream FHIR server that counts the requests it gets and answers an empty searchset.
async fn counting_upstream() -> (String, Arc<AtomicUsize>) {
    let hits: Arc<AtomicUsize> = Arc::default();
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (
                [("content-type", "application/fhir+json")],
                r#"{"resourceType":"Bundle","type":"searchset","total":0}"#,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/fhir", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, hits)
}

#[tokio::test]
async fn names_and_values_that_are_not_utf8_answer_400_before_any_adapter() {
    let (upstream, hits) = counting_upstream().await;
    // The shipped config, with Observation served by an upstream EHR (`fhir` adapter).
    let gw = shipped_with(|c| {
        let c = c.replacen(
            "adapters:\n",
            &format!("adapters:\n  ehr:\n    kind: fhir\n    base_url: {upstream}\n"),
            1,
        );
        c.replacen(
            "\nroutes:\n",
            "\nroutes:\n  - resources: [Observation]\n    adapters: [ehr]\n",
            1,
        )
    });
    let c = gw.system_client();
    let (status, _) = get(&c, &gw.fhir("/Observation?code=1234-5")).await;
    assert_eq!(status, 200, "the upstream route works");
    let before = hits.load(Ordering::SeqCst);
    assert!(before >= 1);
    let value = |n: usize, name: &str| {
        invalid(&format!(
            "the value of query parameter {n} ({name}) is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)"
        ))
    };
    let name = |n: usize| {
        invalid(&format!(
            "the name of query parameter {n} is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)"
        ))
    };
    for (path, expected) in [
        ("/Patient?name=%FF%FE", value(1, "name")),
        ("/Patient?_count=1&family=%C3", value(2, "family")),
        ("/Patient?%FF%FE=x", name(1)),
        ("/Observation?code=%FF%FE", value(1, "code")),
        ("/Observation?_count=2&%E2%82=1", name(2)),
        ("/Observation/_history?_since=%FF", value(1, "_since")),
        ("?_type=%FF", value(1, "_type")),
        ("/AuditEvent?agent=%FF", value(1, "agent")),
    ] {
        let (status, body) = get(&c, &gw.fhir(path)).await;
        assert_eq!((status, body), (400, expected), "{path}");
    }
    // POST _search: the form body is held to the same rule.
    let r = c
        .post(gw.fhir("/Observation/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(&b"subject=Patient/x&code=%FF"[..])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body, value(2, "code"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "nothing reached upstream"
    );
    // Valid UTF-8, percent-encoded, is searched as before.
    let (status, bundle) = get(&c, &gw.fhir("/Patient?name=%C3%A9mile")).await;
    assert_eq!(status, 200);
    assert_eq!(matches(&bundle), (json!(0), Vec::<String>::new()));
}
