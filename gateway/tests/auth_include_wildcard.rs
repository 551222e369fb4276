//! `_include=*` and `_revinclude=*` (FHIR R4 search.html "Including other resources") through
//! the gateway on the seeded store: the store includes whatever any reference parameter
//! reaches, and the patient-compartment post-filter still hides everything of another
//! patient from a patient token (SMART App Launch 2.x §3).

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

const RS: &str = "patient/*.rs";

/// Creates `resource` with a system token; its id.
async fn create(gw: &support::Gateway, resource: Value) -> String {
    let rtype = resource["resourceType"].as_str().expect("type").to_owned();
    let answer = post_json(gw, &format!("/{rtype}"), &system_token(gw), &resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

fn observation(subject: &str, extra: Value) -> Value {
    let mut o = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "wildcard test"},
        "subject": {"reference": format!("Patient/{subject}")},
    });
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        o.extend(extra.clone());
    }
    o
}

/// `(type, id)` of the entries of `mode`.
fn entries(answer: &Answer, mode: &str) -> Vec<(String, String)> {
    answer.json()["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            let r = &e["resource"];
            let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (text(&r["resourceType"]), text(&r["id"]))
        })
        .collect()
}

fn pair(rtype: &str, id: &str) -> (String, String) {
    (rtype.to_owned(), id.to_owned())
}

#[tokio::test]
async fn include_wildcard_never_pulls_in_another_patients_resources() {
    let gw = start();
    let b_obs = create(&gw, observation(B, json!({}))).await;
    // A's Observation derived from one of B's.
    let a_obs = create(
        &gw,
        observation(
            A,
            json!({"derivedFrom": [{"reference": format!("Observation/{b_obs}")}]}),
        ),
    )
    .await;
    let path = format!("/Observation?_id={a_obs}&_include=*");
    // The store includes both references; a system token sees them.
    let all = get(&gw, &path, &system_token(&gw)).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let mut included = entries(&all, "include");
    included.sort();
    let mut expected = vec![pair("Observation", &b_obs), pair("Patient", A)];
    expected.sort();
    assert_eq!(included, expected);
    // Patient A's token: B's Observation is left out, A's own Patient stays.
    let answer = get(&gw, &path, &patient_token(&gw, RS)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(entries(&answer, "match"), vec![pair("Observation", &a_obs)]);
    assert_eq!(entries(&answer, "include"), vec![pair("Patient", A)]);
    answer.assert_no_b(&[]);
    // Over all of A's Observations on the seeded store, nothing of B either.
    let answer = get(
        &gw,
        "/Observation?_count=200&_include=*",
        &patient_token(&gw, RS),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let included = entries(&answer, "include");
    assert!(included.contains(&pair("Patient", A)));
    assert!(!included.contains(&pair("Observation", &b_obs)));
    // (A's Observation names B's by id in `derivedFrom`, so only B's patient id is checked.)
    answer.assert_no_b(&[]);
}

#[tokio::test]
async fn revinclude_wildcard_never_pulls_in_another_patients_resources() {
    let gw = start();
    // B's Observation naming A as its performer: it references Patient A.
    let b_obs = create(
        &gw,
        observation(
            B,
            json!({"performer": [{"reference": format!("Patient/{A}")}]}),
        ),
    )
    .await;
    let path = format!("/Patient?_id={A}&_revinclude=*");
    let all = get(&gw, &path, &system_token(&gw)).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(
        entries(&all, "include").contains(&pair("Observation", &b_obs)),
        "the store follows every reference parameter"
    );
    let answer = get(&gw, &path, &patient_token(&gw, RS)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(entries(&answer, "match"), vec![pair("Patient", A)]);
    let included = entries(&answer, "include");
    assert!(included.iter().any(|(t, _)| t == "Observation"), "A's own");
    answer.assert_no_b(&[&b_obs]);
    // Every type may come back: the wildcard needs a search scope on every type.
    let narrow = patient_token(&gw, "patient/Patient.rs patient/Observation.rs");
    let refused = get(&gw, &path, &narrow).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["issue"][0]["code"], "forbidden");
}

#[tokio::test]
async fn the_capability_statement_advertises_the_includes_the_store_answers() {
    let gw = start();
    let answer = send(reqwest::Method::GET, &gw.fhir("/metadata"), None, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let resources = answer.json()["rest"][0]["resource"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of = |rtype: &str| {
        resources
            .iter()
            .find(|r| r["type"] == rtype)
            .cloned()
            .unwrap_or_else(|| panic!("no {rtype} in the CapabilityStatement"))
    };
    let observation = of("Observation");
    let includes: Vec<&str> = observation["searchInclude"]
        .as_array()
        .expect("searchInclude")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(includes.first(), Some(&"*"));
    for name in [
        "Observation:subject",
        "Observation:patient",
        "Observation:encounter",
    ] {
        assert!(includes.contains(&name), "{name} missing from {includes:?}");
    }
    assert!(
        includes
            .iter()
            .skip(1)
            .all(|i| i.starts_with("Observation:"))
    );
    assert_eq!(observation["searchRevInclude"], json!(["*"]));
    // Every advertised include is answered.
    let token = system_token(&gw);
    for include in &includes {
        let path = format!("/Observation?_count=1&_include={include}");
        let page = send(reqwest::Method::GET, &gw.fhir(&path), Some(&token), None).await;
        assert_eq!(page.status, 200, "{include}: {}", page.body);
    }
}

/// A withheld included resource leaves `Bundle.total` as it is: it counts the matches only
/// (R4 bundle.html, Bundle.total), so the answer is the one a reference to a missing
/// resource gets, whether the other patient's resource exists or was deleted.
#[tokio::test]
async fn a_withheld_include_keeps_the_total_as_for_a_missing_target() {
    let gw = start();
    let b_obs = create(&gw, observation(B, json!({}))).await;
    let to_b = create(
        &gw,
        observation(
            A,
            json!({"focus": [{"reference": format!("Observation/{b_obs}")}]}),
        ),
    )
    .await;
    let to_nothing = create(
        &gw,
        observation(
            A,
            json!({"focus": [{"reference": "Observation/no-such-obs"}]}),
        ),
    )
    .await;
    let token = patient_token(&gw, RS);
    for (include, param) in [
        ("_include", "Observation:focus"),
        ("_include", "*"),
        ("_revinclude", "Observation:focus"),
    ] {
        let mut seen = Vec::new();
        for id in [&to_b, &to_nothing] {
            let answer = get(
                &gw,
                &format!("/Observation?_id={id}&{include}={param}"),
                &token,
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            let body = answer.json();
            assert_eq!(body["total"], 1, "{include}={param}: {body}");
            assert_eq!(entries(&answer, "match"), vec![pair("Observation", id)]);
            seen.push(entries(&answer, "include").len());
        }
        // Whatever else is included (A's Patient for `*`), both answers include the same.
        assert_eq!(seen[0], seen[1], "{include}={param}");
    }
}
