//! Store adapter batch/transaction and seeding: `urn:uuid:` rewriting, conditional creates
//! inside, the R4 processing order, all-or-nothing on failure, independent batch entries,
//! idempotent seeding — on SQLite and PostgreSQL.

mod store_harness;

use http::StatusCode;
use serde_json::{Value, json};
use store_harness::{Backend, Store, config, ids, open};

both!(
    transaction_rewrites_urn_uuid_references,
    transaction_failing_half_way_leaves_nothing,
    transaction_runs_in_r4_order,
    batch_entries_are_independent,
    transaction_with_duplicate_identities_fails,
    bundle_over_the_entry_limit_answers_413,
);

fn entry(full_url: &str, resource: Value, method: &str, url: &str) -> Value {
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": method, "url": url}})
}

async fn transaction_rewrites_urn_uuid_references(s: &Store) {
    let org = s.create(&json!({"resourceType": "Organization", "identifier": [{"system": "urn:org", "value": "o1"}]})).await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:11111111-1111-1111-1111-111111111111",
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                "subject": {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"},
                "performer": [{"reference": "urn:uuid:33333333-3333-3333-3333-333333333333"}]}),
            "POST", "Observation"),
        entry("urn:uuid:22222222-2222-2222-2222-222222222222",
            json!({"resourceType": "Patient", "managingOrganization": {"reference": "urn:uuid:33333333-3333-3333-3333-333333333333"}}),
            "POST", "Patient"),
        {
            "fullUrl": "urn:uuid:33333333-3333-3333-3333-333333333333",
            "resource": {"resourceType": "Organization", "identifier": [{"system": "urn:org", "value": "o1"}]},
            "request": {"method": "POST", "url": "Organization", "ifNoneExist": "identifier=urn:org|o1"}
        },
        entry("urn:uuid:44444444-4444-4444-4444-444444444444",
            json!({"resourceType": "Patient", "id": "fixed", "link": [{"other": {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"}, "type": "seealso"}]}),
            "PUT", "Patient/fixed"),
    ]});
    let r = s.post("", &bundle).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["type"], "transaction-response");
    let es = r.json["entry"].as_array().expect("entries");
    assert_eq!(es[0]["response"]["status"], "201 Created");
    assert_eq!(es[1]["response"]["status"], "201 Created");
    assert_eq!(
        es[2]["response"]["status"], "200 OK",
        "conditional create found the existing one"
    );
    assert_eq!(es[3]["response"]["status"], "201 Created");
    let loc = |i: usize| {
        let l = es[i]["response"]["location"].as_str().expect("location");
        let parts: Vec<&str> = l.split('/').collect();
        format!("{}/{}", parts[0], parts[1])
    };
    assert_eq!(loc(2), format!("Organization/{org}"));
    let obs = s.get(&loc(0)).await;
    assert_eq!(obs.json["subject"]["reference"], loc(1));
    assert_eq!(
        obs.json["performer"][0]["reference"],
        format!("Organization/{org}")
    );
    let pat = s.get(&loc(1)).await;
    assert_eq!(
        pat.json["managingOrganization"]["reference"],
        format!("Organization/{org}")
    );
    assert_eq!(
        s.get("Patient/fixed").await.json["link"][0]["other"]["reference"],
        loc(1)
    );
    let patient_id = loc(1).trim_start_matches("Patient/").to_owned();
    assert_eq!(
        s.search_ids(&format!("Observation?patient={patient_id}"))
            .await
            .len(),
        1
    );
}

async fn transaction_failing_half_way_leaves_nothing(s: &Store) {
    let keep = s
        .create(&json!({"resourceType": "Patient", "gender": "male"}))
        .await;
    let other = s
        .create(&json!({"resourceType": "Patient", "gender": "unknown"}))
        .await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:aaaaaaaa-0000-0000-0000-000000000001", json!({"resourceType": "Patient", "gender": "female"}), "POST", "Patient"),
        entry("urn:uuid:aaaaaaaa-0000-0000-0000-000000000002", json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}), "POST", "Observation"),
        {"request": {"method": "DELETE", "url": format!("Patient/{other}")}},
        {"resource": {"resourceType": "Patient", "id": keep, "gender": "other"},
         "request": {"method": "PUT", "url": format!("Patient/{keep}"), "ifMatch": "W/\"9\""}},
    ]});
    let r = s.post("", &bundle).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert_eq!(r.json["resourceType"], "OperationOutcome");
    assert_eq!(r.json["issue"][0]["expression"][0], "Bundle.entry[3]");
    assert!(
        r.json["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.starts_with("Bundle.entry[3]"))
    );
    assert_eq!(s.get("Patient?_summary=count").await.json["total"], 2);
    assert_eq!(s.get("Observation?_summary=count").await.json["total"], 0);
    assert_eq!(
        s.get(&format!("Patient/{other}")).await.status,
        StatusCode::OK,
        "the DELETE was rolled back"
    );
    let p = s.get(&format!("Patient/{keep}")).await;
    assert_eq!(
        (p.status, p.json["gender"].as_str()),
        (StatusCode::OK, Some("male"))
    );
    assert_eq!(
        s.get(&format!("Patient/{keep}/_history")).await.json["total"],
        1
    );
    // a malformed entry fails the whole transaction before anything runs
    let bad = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:1", json!({"resourceType": "Patient"}), "POST", "Patient"),
        entry("urn:uuid:2", json!({"resourceType": "Patient"}), "POST", "NotAType"),
    ]});
    let r = s.post("", &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["issue"][0]["expression"][0], "Bundle.entry[1]");
    assert_eq!(s.get("Patient?_summary=count").await.json["total"], 2);
}

async fn transaction_runs_in_r4_order(s: &Store) {
    let gone = s
        .create(
            &json!({"resourceType": "Patient", "identifier": [{"system": "urn:o", "value": "x"}]}),
        )
        .await;
    // GET listed first still sees the POST; DELETE listed last runs first
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Patient?identifier=urn:o|x"}},
        entry("urn:uuid:bbbbbbbb-0000-0000-0000-000000000001",
            json!({"resourceType": "Patient", "identifier": [{"system": "urn:o", "value": "x"}]}),
            "POST", "Patient"),
        {"request": {"method": "DELETE", "url": format!("Patient/{gone}")}},
    ]});
    let r = s.post("", &bundle).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let es = r.json["entry"].as_array().expect("entries");
    assert_eq!(es[2]["response"]["status"], "204 No Content");
    let found = ids(&es[0]["resource"], "match");
    assert_eq!(found.len(), 1);
    assert_ne!(found[0], gone);
    assert_eq!(
        s.get(&format!("Patient/{gone}")).await.status,
        StatusCode::GONE
    );
}

async fn batch_entries_are_independent(s: &Store) {
    let p = s.create(&json!({"resourceType": "Patient"})).await;
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        entry("urn:uuid:c1", json!({"resourceType": "Patient", "gender": "male"}), "POST", "Patient"),
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
        {"request": {"method": "GET", "url": format!("Patient/{p}")}},
        entry("urn:uuid:c2", json!({"resourceType": "Observation"}), "POST", "Patient"),
        {"request": {"method": "GET", "url": "Patient?gender=male"}},
    ]});
    let r = s.post("", &bundle).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["type"], "batch-response");
    let es = r.json["entry"].as_array().expect("entries");
    assert_eq!(es[0]["response"]["status"], "201 Created");
    assert!(
        es[0]["fullUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://gw.test/fhir/Patient/"))
    );
    assert_eq!(es[1]["response"]["status"], "404 Not Found");
    assert_eq!(
        es[1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(es[2]["response"]["status"], "200 OK");
    assert_eq!(es[2]["resource"]["id"], p.as_str());
    assert_eq!(es[3]["response"]["status"], "400 Bad Request");
    assert_eq!(es[4]["resource"]["total"], 1);
    assert_eq!(s.get("Patient?_summary=count").await.json["total"], 2);
}

async fn seeded(backend: Backend) {
    let (config, dir) = config(backend, true);
    let s = open(config.clone(), dir.clone()).await;
    let buster = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
    let liz = "ee9f8dd8-72d2-4769-8020-89e504b1504b";
    assert_eq!(s.get("Patient?_summary=count").await.json["total"], 2);
    assert_eq!(
        s.get(&format!("Patient/{buster}")).await.status,
        StatusCode::OK
    );
    let obs = s
        .get(&format!("Observation?patient={liz}&_summary=count"))
        .await;
    assert_eq!(obs.json["total"], 36);
    let o = s
        .get(&format!("Observation?patient=Patient/{buster}&_count=1"))
        .await;
    let subject = o.json["entry"][0]["resource"]["subject"]["reference"]
        .as_str()
        .expect("subject");
    assert_eq!(
        subject,
        format!("Patient/{buster}"),
        "urn:uuid references rewritten"
    );
    let pharmacy = s.search_ids("Organization?identifier=http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber|9999999").await;
    assert_eq!(pharmacy, vec!["sandbox-pharmacy".to_owned()]);
    let npi = s
        .search_ids("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893")
        .await;
    assert_eq!(npi, vec!["sandbox-prescriber".to_owned()]);
    for p in [buster, liz] {
        let cov = s
            .get(&format!(
                "Coverage?beneficiary=Patient/{p}&status=active&_include=Coverage:payor"
            ))
            .await;
        assert_eq!(ids(&cov.json, "match").len(), 1);
        assert_eq!(ids(&cov.json, "include"), vec!["sandbox-payer".to_owned()]);
        assert!(cov.json["entry"][0]["resource"]["subscriberId"].is_string());
    }
    let mr = s.get("MedicationRequest/sandbox-medrx-1").await.json;
    assert_eq!(
        mr["medicationCodeableConcept"]["coding"][0]["system"],
        "http://www.nlm.nih.gov/research/umls/rxnorm"
    );
    assert_eq!(
        mr["dispenseRequest"]["performer"]["reference"],
        "Organization/sandbox-pharmacy"
    );
    assert_eq!(mr["dispenseRequest"]["numberOfRepeatsAllowed"], 3);
    assert!(mr["dosageInstruction"][0]["text"].is_string());
    let total = s.get("_history?_count=1").await;
    assert_eq!(total.status, StatusCode::OK);
    let count = |s: &Store| {
        let a = s.adapter.clone();
        async move {
            let st = Store {
                adapter: a,
                config: Default::default(),
                dir: std::env::temp_dir(),
            };
            let mut n = 0;
            for t in [
                "Patient",
                "Observation",
                "Coverage",
                "Organization",
                "Practitioner",
                "MedicationRequest",
                "Claim",
            ] {
                n += st.get(&format!("{t}?_summary=count")).await.json["total"]
                    .as_i64()
                    .unwrap_or(0);
            }
            n
        }
    };
    let first = count(&s).await;
    drop(s);
    let again = open(config, dir).await;
    assert_eq!(count(&again).await, first, "seeding twice changes nothing");
    assert_eq!(
        again.get(&format!("Patient/{buster}")).await.json["meta"]["versionId"],
        "1"
    );
    again.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_seeding_is_idempotent() {
    seeded(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_seeding_is_idempotent() {
    seeded(Backend::Postgres).await;
}

/// FHIR R4 §3.1.0.11.2: overlapping identities SHALL fail the transaction, leaving nothing.
async fn transaction_with_duplicate_identities_fails(s: &Store) {
    let patient = |family: &str| json!({"resourceType": "Patient", "id": "dup1", "name": [{"family": family}]});
    let same_put = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001", patient("One"), "PUT", "Patient/dup1"),
        entry("urn:uuid:aaaaaaaa-0000-4000-8000-000000000002", patient("Two"), "PUT", "Patient/dup1"),
    ]});
    let r = s.post("", &same_put).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text
            .contains("Patient/dup1 is written by more than one entry"),
        "{}",
        r.text
    );
    assert_eq!(r.json["issue"][0]["expression"][0], "Bundle.entry[1]");
    assert_eq!(
        s.get("Patient/dup1").await.status,
        StatusCode::NOT_FOUND,
        "nothing was written"
    );

    let same_full_url = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:bbbbbbbb-0000-4000-8000-000000000001", json!({"resourceType": "Patient"}), "POST", "Patient"),
        entry("urn:uuid:bbbbbbbb-0000-4000-8000-000000000001", json!({"resourceType": "Patient"}), "POST", "Patient"),
    ]});
    let r = s.post("", &same_full_url).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("appears more than once"), "{}", r.text);
}

async fn bundle_over_the_entry_limit_answers_413(s: &Store) {
    for kind in ["batch", "transaction"] {
        let entries: Vec<Value> = (0..1001)
            .map(|_| json!({"request": {"method": "GET", "url": "Patient?_count=1"}}))
            .collect();
        let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": entries});
        let r = s.post("", &bundle).await;
        assert_eq!(
            r.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{kind}: {}",
            r.text
        );
        assert_eq!(r.json["issue"][0]["code"], "too-long");
    }
}
