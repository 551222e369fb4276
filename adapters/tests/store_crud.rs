//! Store adapter: versioned CRUD, conditional interactions, JSON Patch, exact round trips
//! of the official R4 examples and the Synthea bundles — on SQLite and PostgreSQL.

mod store_harness;

use http::StatusCode;
use serde_json::{Value, json};
use store_harness::{BASE, Store, fixture, fixture_files, strip};

both!(
    official_examples_round_trip_exactly,
    synthea_bundles_round_trip_exactly,
    decimals_and_primitive_extensions_survive_and_unknown_elements_are_refused,
    versions_etag_location_last_modified,
    if_none_match_304_and_if_match_412,
    delete_then_read_410,
    conditional_create,
    conditional_update,
    json_patch_keeps_decimals,
    bad_input_is_4xx_with_outcome,
    prefer_return,
    history_type_since_count,
    concurrent_writes_never_fail_the_database,
);

async fn concurrent_writes_never_fail_the_database(s: &Store) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let adapter = s.adapter.clone();
        tasks.push(tokio::spawn(async move {
            let w = Store { adapter, config: Default::default(), dir: std::env::temp_dir() };
            let body = json!({"resourceType": "Patient", "id": "race", "gender": if i % 2 == 0 { "male" } else { "female" }});
            w.put("Patient/race", &body).await.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let status = t.await.expect("task");
        assert!(
            [StatusCode::OK, StatusCode::CREATED, StatusCode::CONFLICT].contains(&status),
            "{status}"
        );
        ok += usize::from(status != StatusCode::CONFLICT);
    }
    assert!(ok >= 1);
    let h = s.get("Patient/race/_history").await;
    assert_eq!(
        h.json["total"].as_u64(),
        Some(ok as u64),
        "one version per successful write"
    );
}

async fn official_examples_round_trip_exactly(s: &Store) {
    let files = fixture_files("fhir-r4");
    assert!(files.len() >= 30);
    for path in files {
        let text = std::fs::read_to_string(&path).expect("fixture");
        let original: Value = serde_json::from_str(&text).expect("json");
        let rt = original["resourceType"].as_str().expect("type");
        let id = original["id"].as_str().expect("id");
        let r = s.call("PUT", &format!("{rt}/{id}"), Some(&text), &[]).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}: {}",
            path.display(),
            r.text
        );
        let back = s.get(&format!("{rt}/{id}")).await;
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(strip(&back.json), strip(&original), "{}", path.display());
        assert_eq!(back.json["meta"]["versionId"], "1");
        if let Some(tag) = original["meta"].get("tag") {
            assert_eq!(&back.json["meta"]["tag"], tag, "meta.tag kept");
        }
    }
}

async fn synthea_bundles_round_trip_exactly(s: &Store) {
    for name in [
        "synthea/synthea-r4-transaction-Buster_Hoeger.json",
        "synthea/synthea-r4-transaction-Liz_Conn.json",
    ] {
        let text = fixture(name);
        let bundle: Value = serde_json::from_str(&text).expect("json");
        let r = s.call("POST", "", Some(&text), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["type"], "transaction-response");
        let entries = bundle["entry"].as_array().expect("entries");
        let answers = r.json["entry"].as_array().expect("response entries");
        assert_eq!(entries.len(), answers.len());
        let mut map = std::collections::HashMap::new();
        for (e, a) in entries.iter().zip(answers) {
            assert_eq!(a["response"]["status"], "201 Created");
            let loc = a["response"]["location"].as_str().expect("location");
            let parts: Vec<&str> = loc.split('/').collect();
            assert_eq!(parts[2..], ["_history", "1"]);
            map.insert(
                e["fullUrl"].as_str().expect("fullUrl").to_owned(),
                format!("{}/{}", parts[0], parts[1]),
            );
        }
        for e in entries {
            let mut expected = e["resource"].clone();
            rewrite(&mut expected, &map);
            let path = &map[e["fullUrl"].as_str().expect("fullUrl")];
            let back = s.get(path).await;
            assert_eq!(back.status, StatusCode::OK);
            assert_eq!(strip(&back.json), strip(&expected), "{path}");
        }
    }
}

fn rewrite(v: &mut Value, map: &std::collections::HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, c) in o.iter_mut() {
                match (k.as_str(), c.as_str().and_then(|s| map.get(s))) {
                    ("reference", Some(new)) => *c = json!(new),
                    _ => rewrite(c, map),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|i| rewrite(i, map)),
        _ => {}
    }
}

async fn decimals_and_primitive_extensions_survive_and_unknown_elements_are_refused(s: &Store) {
    let unknown = r#"{"resourceType":"Observation","status":"final","code":{"text":"w"},"futureElement":{"deep":[1,2.50]}}"#;
    let r = s.call("POST", "Observation", Some(unknown), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json["issue"][0]["expression"][0],
        "Observation.futureElement"
    );
    let body = r#"{"resourceType":"Observation","status":"final","_status":{"extension":[{"url":"http://x/e","valueString":"k"}]},"code":{"text":"w"},"valueQuantity":{"value":72.10,"unit":"kg"},"component":[{"code":{"text":"a"},"valueQuantity":{"value":1.000E2}},{"code":{"text":"b"},"valueQuantity":{"value":2.50}}]}"#;
    let r = s.call("POST", "Observation", Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.text.contains("\"value\":72.10"), "{}", r.text);
    let id = r.json["id"].as_str().expect("id");
    let back = s.get(&format!("Observation/{id}")).await;
    assert!(back.text.contains("\"value\":72.10"));
    // serde_json keeps the digits of an exponent decimal but writes the exponent as e+N
    assert!(back.text.contains("1.000e+2"), "{}", back.text);
    assert!(back.text.contains("\"value\":2.50"));
    let original: Value = serde_json::from_str(body).expect("json");
    assert_eq!(strip(&back.json), original);
    assert_eq!(back.json["_status"]["extension"][0]["valueString"], "k");
}

async fn versions_etag_location_last_modified(s: &Store) {
    let r = s
        .post(
            "Patient",
            &json!({"resourceType": "Patient", "gender": "female"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json["id"].as_str().expect("id").to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("{BASE}/Patient/{id}/_history/1").as_str())
    );
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert!(
        r.header("last-modified")
            .is_some_and(|v| v.ends_with(" GMT"))
    );
    assert_eq!(r.json["meta"]["versionId"], "1");
    let lu = r.json["meta"]["lastUpdated"].as_str().expect("lastUpdated");
    assert!(lu.ends_with('Z') && lu.len() == 27, "{lu}");
    let r = s
        .put(
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id, "gender": "male"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(
        r.header("location"),
        Some(format!("{BASE}/Patient/{id}/_history/2").as_str())
    );
    let v1 = s.get(&format!("Patient/{id}/_history/1")).await;
    assert_eq!(
        (v1.status, v1.json["gender"].as_str()),
        (StatusCode::OK, Some("female"))
    );
    let v2 = s.get(&format!("Patient/{id}/_history/2")).await;
    assert_eq!(v2.json["gender"], "male");
    assert_eq!(
        s.get(&format!("Patient/{id}/_history/3")).await.status,
        StatusCode::NOT_FOUND
    );
    let h = s.get(&format!("Patient/{id}/_history")).await;
    assert_eq!(h.json["type"], "history");
    assert_eq!(h.json["total"], 2);
    assert_eq!(h.json["entry"][0]["resource"]["meta"]["versionId"], "2");
    assert_eq!(h.json["entry"][1]["request"]["method"], "POST");
    let cur = s.get(&format!("Patient/{id}")).await;
    assert_eq!(cur.header("etag"), Some("W/\"2\""));
    // update-create with a client id
    let r = s
        .put("Patient/client-chosen", &json!({"resourceType": "Patient"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

async fn if_none_match_304_and_if_match_412(s: &Store) {
    let id = s
        .create(&json!({"resourceType": "Patient", "active": true}))
        .await;
    let path = format!("Patient/{id}");
    let r = s
        .call("GET", &path, None, &[("if-none-match", "W/\"1\"")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.text.is_empty());
    let r = s
        .call("GET", &path, None, &[("if-none-match", "W/\"7\"")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let body = json!({"resourceType": "Patient", "id": id, "active": false}).to_string();
    let r = s
        .call("PUT", &path, Some(&body), &[("if-match", "W/\"2\"")])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.json["resourceType"], "OperationOutcome");
    let r = s
        .call("PUT", &path, Some(&body), &[("if-match", "W/\"1\"")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(s.get(&path).await.json["active"], false);
    // A delete pinned to a version (§3.1.0.6.2): only the current one deletes.
    let r = s
        .call("DELETE", &path, None, &[("if-match", "W/\"1\"")])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.get(&path).await.status, StatusCode::OK);
    let r = s
        .call("DELETE", &path, None, &[("if-match", "W/\"2\"")])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&path).await.status, StatusCode::GONE);
}

async fn delete_then_read_410(s: &Store) {
    let id = s
        .create(&json!({"resourceType": "Condition", "subject": {"reference": "Patient/p"}}))
        .await;
    let path = format!("Condition/{id}");
    let r = s.call("DELETE", &path, None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s.get(&path).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.json["issue"][0]["code"], "deleted");
    assert_eq!(
        s.get(&format!("{path}/_history/1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.get(&format!("{path}/_history/2")).await.status,
        StatusCode::GONE
    );
    assert!(s.search_ids("Condition?patient=p").await.is_empty());
    assert_eq!(
        s.call("DELETE", "Condition/never", None, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let r = s
        .put(
            &path,
            &json!({"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json["meta"]["versionId"], "3");
}

async fn conditional_create(s: &Store) {
    let pat =
        json!({"resourceType": "Patient", "identifier": [{"system": "urn:sys", "value": "1"}]})
            .to_string();
    let h = [("if-none-exist", "identifier=urn:sys|1")];
    let a = s.call("POST", "Patient", Some(&pat), &h).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let b = s.call("POST", "Patient", Some(&pat), &h).await;
    assert_eq!(b.status, StatusCode::OK);
    assert_eq!(a.json["id"], b.json["id"]);
    s.call("POST", "Patient", Some(&pat), &[]).await;
    let c = s.call("POST", "Patient", Some(&pat), &h).await;
    assert_eq!(c.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(c.json["issue"][0]["code"], "multiple-matches");
}

async fn conditional_update(s: &Store) {
    let body = |g: &str| {
        json!({"resourceType": "Patient", "identifier": [{"system": "urn:c", "value": "9"}], "gender": g}).to_string()
    };
    let a = s
        .call(
            "PUT",
            "Patient?identifier=urn:c|9",
            Some(&body("male")),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let b = s
        .call(
            "PUT",
            "Patient?identifier=urn:c|9",
            Some(&body("female")),
            &[],
        )
        .await;
    assert_eq!(b.status, StatusCode::OK);
    assert_eq!(a.json["id"], b.json["id"]);
    assert_eq!(b.json["meta"]["versionId"], "2");
    s.post(
        "Patient",
        &serde_json::from_str(&body("other")).expect("json"),
    )
    .await;
    let c = s
        .call(
            "PUT",
            "Patient?identifier=urn:c|9",
            Some(&body("male")),
            &[],
        )
        .await;
    assert_eq!(c.status, StatusCode::PRECONDITION_FAILED);
}

async fn json_patch_keeps_decimals(s: &Store) {
    let body = r#"{"resourceType":"Observation","status":"preliminary","code":{"text":"w"},"valueQuantity":{"value":72.10,"unit":"kg"}}"#;
    let id = s.call("POST", "Observation", Some(body), &[]).await.json["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("Observation/{id}");
    let ct = ("content-type", "application/json-patch+json");
    let patch = r#"[{"op":"test","path":"/status","value":"preliminary"},{"op":"replace","path":"/status","value":"final"},{"op":"add","path":"/valueQuantity/comparator","value":"<"},{"op":"replace","path":"/valueQuantity/value","value":98.60}]"#;
    let r = s.call("PATCH", &path, Some(patch), &[ct]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let back = s.get(&path).await;
    assert!(back.text.contains("\"value\":98.60"), "{}", back.text);
    assert_eq!(back.json["status"], "final");
    let failing = r#"[{"op":"test","path":"/status","value":"preliminary"}]"#;
    assert_eq!(
        s.call("PATCH", &path, Some(failing), &[ct]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        s.call("PATCH", &path, Some("[{"), &[ct]).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.call("PATCH", &path, Some("{\"op\":1}"), &[ct])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let ok = r#"[{"op":"replace","path":"/status","value":"amended"}]"#;
    assert_eq!(
        s.call("PATCH", &path, Some(ok), &[ct, ("if-match", "W/\"1\"")])
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
    let change_id = r#"[{"op":"replace","path":"/id","value":"other"}]"#;
    assert_eq!(
        s.call("PATCH", &path, Some(change_id), &[ct]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        s.call("PATCH", "Observation/none", Some(ok), &[ct])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn bad_input_is_4xx_with_outcome(s: &Store) {
    let r = s
        .call(
            "POST",
            "Patient",
            Some("{\n  \"resourceType\": \"Patient\",\n  oops\n}"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let d = r.json["issue"][0]["diagnostics"]
        .as_str()
        .expect("diagnostics");
    assert!(d.contains("line 3"), "{d}");
    let r = s
        .call(
            "POST",
            "Patient",
            Some(r#"{"resourceType":"Observation"}"#),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .call(
            "POST",
            "Patient",
            Some(r#"{"resourceType":"Patient","gender":"ma\u0000le"}"#),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("/gender"))
    );
    let r = s.call("POST", "Patient", Some(""), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .call(
            "PUT",
            "Patient/a",
            Some(r#"{"resourceType":"Patient","id":"b"}"#),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s.get("Patient/unknown").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json["resourceType"], "OperationOutcome");
    assert_eq!(
        s.get("Patient?_count=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.get("Patient?_sort=gender").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.get("Patient?_cursor=zzz").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn prefer_return(s: &Store) {
    let body = json!({"resourceType": "Patient"}).to_string();
    let r = s
        .call(
            "POST",
            "Patient",
            Some(&body),
            &[("prefer", "return=minimal")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.text.is_empty());
    assert!(r.header("location").is_some());
    let r = s
        .call(
            "POST",
            "Patient",
            Some(&body),
            &[("prefer", "return=OperationOutcome")],
        )
        .await;
    assert_eq!(r.json["resourceType"], "OperationOutcome");
    let r = s
        .call(
            "POST",
            "Patient",
            Some(&body),
            &[("prefer", "return=representation")],
        )
        .await;
    assert_eq!(r.json["resourceType"], "Patient");
}

async fn history_type_since_count(s: &Store) {
    for _ in 0..3 {
        s.create(&json!({"resourceType": "Device", "status": "active"}))
            .await;
    }
    let h = s.get("Device/_history?_count=2").await;
    assert_eq!(h.json["entry"].as_array().map(Vec::len), Some(2));
    let next = h.json["link"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["relation"] == "next")
        .expect("next link");
    let url = next["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{BASE}/Device/_history?")),
        "{url}"
    );
    let rel = url.trim_start_matches(&format!("{BASE}/"));
    let h2 = s.get(rel).await;
    assert_eq!(h2.json["entry"].as_array().map(Vec::len), Some(1));
    let h = s.get("Device/_history?_since=2999-01-01T00:00:00Z").await;
    assert!(h.json.get("entry").is_none());
    let all = s.get("_history").await;
    assert_eq!(all.json["total"], 3);
}

#[tokio::test]
async fn sqlite_check_is_ok_and_a_database_that_cannot_open_is_a_config_error() {
    let s = store_harness::store(store_harness::Backend::Sqlite).await;
    assert!(s.adapter.check().await.is_ok());
    assert!(
        s.dir.join("store.db").exists(),
        "relative sqlite path lives in the data dir"
    );
    s.cleanup().await;
    let bad = fhirgate_adapters::store::StoreConfig {
        url: "postgres://postgres@127.0.0.1:1/none".into(),
        ..Default::default()
    };
    let ctx = fhirgate_adapters::BuildContext::new(std::env::temp_dir());
    let err = fhirgate_adapters::store::build("s", &bad, &ctx).await.err();
    assert!(err.is_some_and(|e| e.status() == StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(bad.validate(), vec![]);
    let wrong = fhirgate_adapters::store::StoreConfig {
        url: "mysql://x".into(),
        schema: Some("bad schema".into()),
        ..Default::default()
    };
    let paths: Vec<String> = wrong.validate().into_iter().map(|p| p.path).collect();
    assert_eq!(paths, vec!["url", "schema"]);
}
