//! The embedded store indexes every patient-compartment anchor the gateway narrows a
//! patient-restricted search by (FHIR R4 CompartmentDefinition `patient`, each type's R4
//! SearchParameter), so a patient token's counts, pages and strict searches on those types
//! see exactly the patient's own resources (SMART App Launch 2.x §3 patient scopes, R4
//! search.html §3.1.1.5.6 `_summary=count`, §3.1.1.6 paging, `Prefer: handling=strict`).
//! Before, an unindexed anchor was ignored: a count over every resource of the type (an
//! id-existence oracle), empty pages with next links, 400 on strict searches.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use fhirgate_adapters::store::params::{ParamType, find};
use serde_json::{Value, json};

/// The gateway's anchor table (`ANCHORS` of `src/auth/compartment.rs`), read from its
/// source: `(type, parameter, paths)` per row.
fn anchors() -> Vec<(String, String, Vec<String>)> {
    let source = include_str!("../src/auth/compartment.rs");
    let start = source
        .find("pub const ANCHORS")
        .expect("ANCHORS in compartment.rs");
    let table = &source[start..];
    let table = &table[table.find("= &[").expect("table start")..table.find("\n];").expect("end")];
    table
        .lines()
        .filter(|l| l.trim_start().starts_with("(\""))
        .map(|line| {
            let quoted: Vec<String> = line
                .split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            assert!(quoted.len() >= 3, "unexpected ANCHORS row {line}");
            (quoted[0].clone(), quoted[1].clone(), quoted[2..].to_vec())
        })
        .collect()
}

#[test]
fn the_store_indexes_every_anchor_with_its_paths() {
    let rows = anchors();
    assert!(rows.len() >= 60, "ANCHORS read: {}", rows.len());
    for (rtype, param, paths) in rows {
        let def = find(&rtype, &param)
            .unwrap_or_else(|| panic!("the store does not index {rtype}.{param}"));
        assert_eq!(def.kind, ParamType::Reference, "{rtype}.{param}");
        assert_eq!(def.paths, paths, "{rtype}.{param}");
        assert!(
            matches!(def.target, None | Some("Patient")),
            "{rtype}.{param} target {:?}",
            def.target
        );
    }
}

/// A resource of `rtype` belonging to `patient` (its anchor element names them), valid R4.
fn of(rtype: &str, patient: &str) -> Value {
    let p = json!({"reference": format!("Patient/{patient}")});
    match rtype {
        "MedicationStatement" => json!({"resourceType": rtype, "status": "active",
            "medicationCodeableConcept": {"text": "aspirin"}, "subject": p}),
        "Group" => json!({"resourceType": rtype, "type": "person", "actual": true,
            "member": [{"entity": p}]}),
        "Flag" => json!({"resourceType": rtype, "status": "active",
            "code": {"text": "fall risk"}, "subject": p}),
        "List" => json!({"resourceType": rtype, "status": "current", "mode": "working",
            "subject": p}),
        "Person" => json!({"resourceType": rtype, "link": [{"target": p}]}),
        "Provenance" => json!({"resourceType": rtype, "target": [p],
            "recorded": "2024-01-15T09:30:00Z", "agent": [{"who": {"display": "registration"}}]}),
        "ServiceRequest" => json!({"resourceType": rtype, "status": "active",
            "intent": "order", "code": {"text": "x-ray"}, "subject": p}),
        "EpisodeOfCare" => json!({"resourceType": rtype, "status": "active", "patient": p}),
        other => panic!("no example for {other}"),
    }
}

/// Creates `resource` with a system token; its id.
async fn create(gw: &support::Gateway, resource: &Value) -> String {
    let rtype = resource["resourceType"].as_str().expect("resourceType");
    let answer = post_json(gw, &format!("/{rtype}"), &system_token(gw), resource).await;
    assert_eq!(answer.status, 201, "{rtype}: {}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

/// `GET` with `Prefer: handling=strict`.
async fn strict(gw: &support::Gateway, path: &str, token: &str) -> Answer {
    let response = support::authed(token)
        .get(gw.fhir(path))
        .header("prefer", "handling=strict")
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    Answer {
        status,
        body: response.text().await.expect("body"),
        challenge: None,
    }
}

#[tokio::test]
async fn a_patient_token_counts_pages_and_searches_only_its_own() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.rs");
    for rtype in [
        "MedicationStatement",
        "Group",
        "Flag",
        "List",
        "Person",
        "Provenance",
        "ServiceRequest",
        "EpisodeOfCare",
    ] {
        let mine = create(&gw, &of(rtype, A)).await;
        let mut theirs = Vec::new();
        for _ in 0..3 {
            theirs.push(create(&gw, &of(rtype, B)).await);
        }
        let all = get(&gw, &format!("/{rtype}?_summary=count"), &system_token(&gw)).await;
        assert_eq!(all.json()["total"], 4, "{rtype}: {}", all.body);

        let count = get(&gw, &format!("/{rtype}?_summary=count"), &token).await;
        assert_eq!(count.status, 200, "{rtype}: {}", count.body);
        assert_eq!(count.json()["total"], 1, "{rtype}: {}", count.body);
        for id in &theirs {
            let probe = get(&gw, &format!("/{rtype}?_id={id}&_summary=count"), &token).await;
            assert_eq!(probe.status, 200, "{rtype}: {}", probe.body);
            assert_eq!(probe.json()["total"], 0, "{rtype} oracle: {}", probe.body);
        }

        let seen = pages(&gw, rtype, &format!("/{rtype}?_count=1"), &token).await;
        assert_eq!(seen, vec![vec![mine.clone()]], "{rtype}");

        let answer = strict(&gw, &format!("/{rtype}?_total=accurate"), &token).await;
        assert_eq!(answer.status, 200, "{rtype}: {}", answer.body);
        assert_eq!(answer.json()["total"], 1, "{rtype}: {}", answer.body);
        assert_eq!(answer.entry_ids(rtype), vec![mine.clone()], "{rtype}");
        answer.assert_no_b(&theirs.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// `POST /{rtype}` of `resource` with `If-None-Exist: query` and `token`: the status.
async fn create_if_none_exist(
    gw: &support::Gateway,
    resource: &Value,
    query: &str,
    token: &str,
) -> u16 {
    let rtype = resource["resourceType"].as_str().expect("resourceType");
    support::authed(token)
        .post(gw.fhir(&format!("/{rtype}")))
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", query)
        .body(resource.to_string())
        .send()
        .await
        .expect("send")
        .status()
        .as_u16()
}

/// A conditional create searches narrowed by the anchor too (FHIR R4 §3.1.0.8
/// `If-None-Exist`): A's own resource is found (200, nothing created), B's is not there
/// for A (201, A's new one), where an unindexed anchor answered 400.
#[tokio::test]
async fn a_patients_conditional_create_finds_only_its_own() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.cruds");
    for rtype in ["MedicationStatement", "Flag", "List"] {
        let mine = create(&gw, &of(rtype, A)).await;
        let theirs = create(&gw, &of(rtype, B)).await;
        let status = create_if_none_exist(&gw, &of(rtype, A), &format!("_id={mine}"), &token).await;
        assert_eq!(status, 200, "{rtype}: A's own exists");
        let status =
            create_if_none_exist(&gw, &of(rtype, A), &format!("_id={theirs}"), &token).await;
        assert_eq!(status, 201, "{rtype}: B's is not A's to find");
        let count = get(&gw, &format!("/{rtype}?_summary=count"), &token).await;
        assert_eq!(count.json()["total"], 2, "{rtype}: {}", count.body);
    }
}
