//! An `If-Match` or `If-None-Match` field that is not `*` or a list of entity-tags (RFC 9110
//! §13.1.1, §13.1.2; syntax §8.8.3) is a malformed request: 400 `invalid` for every caller,
//! before scopes or versions are looked at, and nothing is written (attack finding LOW N6:
//! it answered 412 Precondition Failed). FHIR R4 http.html §3.1.0.6.2 sends `W/"versionId"`.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const MALFORMED: [&str; 6] = [
    r#"W/"1"#,
    "1",
    "abc",
    r#"w/"1""#,
    r#""1" "2""#,
    r#"*, W/"1""#,
];

/// Sends `method` on `path` with `token`, the header `name: value`, and `body` as FHIR JSON
/// or JSON Patch.
async fn send_with(
    gw: &support::Gateway,
    method: Method,
    path: &str,
    token: &str,
    (name, value): (&str, &str),
    body: Option<(&str, String)>,
) -> (u16, Value) {
    let mut request = support::client()
        .request(method, gw.fhir(path))
        .bearer_auth(token)
        .header(name, value);
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn observation(id: Option<&str>, text: &str) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": text},
        "subject": {"reference": format!("Patient/{A}")}});
    if let Some(id) = id {
        o["id"] = json!(id);
    }
    o
}

fn assert_invalid(status: u16, body: &Value, name: &str, what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{what}: {body}");
    assert_eq!(body["issue"][0]["code"], "invalid", "{what}: {body}");
    let text = body["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(
        text.starts_with(&format!("{name} is not a valid entity-tag list")),
        "{what}: {text}"
    );
}

#[tokio::test]
async fn a_malformed_if_match_answers_400_to_every_caller_and_writes_nothing() {
    let gw = start();
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    let reader = patient_token(&gw, "patient/*.rs");
    let created = post_json(&gw, "/Observation", &system, &observation(None, "n6")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let path = format!("/Observation/{id}");
    let update = || {
        Some((
            "application/fhir+json",
            observation(Some(&id), "changed").to_string(),
        ))
    };
    let ops = r#"[{"op":"replace","path":"/status","value":"amended"}]"#;
    let patch = || Some(("application/json-patch+json", ops.to_owned()));
    for value in MALFORMED {
        // The reader's scopes allow no write: still 400, the header is checked first.
        for token in [&system, &writer, &reader] {
            let (status, body) = send_with(
                &gw,
                Method::PUT,
                &path,
                token,
                ("if-match", value),
                update(),
            )
            .await;
            assert_invalid(status, &body, "If-Match", &format!("PUT {value}"));
            let (status, body) = send_with(
                &gw,
                Method::PATCH,
                &path,
                token,
                ("if-match", value),
                patch(),
            )
            .await;
            assert_invalid(status, &body, "If-Match", &format!("PATCH {value}"));
            let (status, body) =
                send_with(&gw, Method::DELETE, &path, token, ("if-match", value), None).await;
            assert_invalid(status, &body, "If-Match", &format!("DELETE {value}"));
        }
    }
    let read = get(&gw, &path, &system).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["meta"]["versionId"], "1");
    assert_eq!(read.json()["code"]["text"], "n6");
    // Well-formed tags are compared as before: a stale one is 412, the current one writes.
    for token in [&system, &writer] {
        let (status, body) = send_with(
            &gw,
            Method::PUT,
            &path,
            token,
            ("if-match", r#"W/"7", "8""#),
            update(),
        )
        .await;
        assert_eq!(status, 412, "{body}");
        assert_eq!(body["issue"][0]["code"], "conflict", "{body}");
    }
    let (status, body) = send_with(
        &gw,
        Method::PUT,
        &path,
        &writer,
        ("if-match", r#"W/"1""#),
        update(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["versionId"], "2");
}

#[tokio::test]
async fn a_malformed_if_none_match_answers_400() {
    let gw = start();
    let system = system_token(&gw);
    let reader = patient_token(&gw, "patient/*.rs");
    let created = post_json(&gw, "/Observation", &system, &observation(None, "n6")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    for value in MALFORMED {
        for token in [&system, &reader] {
            // Instance history: not cached, so every request reaches the edge.
            let path = format!("/Observation/{id}/_history");
            let (status, body) = send_with(
                &gw,
                Method::GET,
                &path,
                token,
                ("if-none-match", value),
                None,
            )
            .await;
            assert_invalid(status, &body, "If-None-Match", value);
        }
    }
    let path = format!("/Observation/{id}");
    let (status, body) = send_with(
        &gw,
        Method::GET,
        &path,
        &reader,
        ("if-none-match", r#"W/"1"#),
        None,
    )
    .await;
    assert_invalid(status, &body, "If-None-Match", "read");
    let (status, _) = send_with(
        &gw,
        Method::GET,
        &path,
        &reader,
        ("if-none-match", r#"W/"1""#),
        None,
    )
    .await;
    assert_eq!(status, 304, "a well-formed tag naming the version");
    // A read the response cache holds answers the same 400: the cache does not answer a
    // malformed field from its entry (neither 200 nor 304).
    for _ in 0..2 {
        let (status, body) =
            send_with(&gw, Method::GET, &path, &reader, ("accept", "*/*"), None).await;
        assert_eq!(status, 200, "{body}");
    }
    for value in MALFORMED {
        let (status, body) = send_with(
            &gw,
            Method::GET,
            &path,
            &reader,
            ("if-none-match", value),
            None,
        )
        .await;
        assert_invalid(
            status,
            &body,
            "If-None-Match",
            &format!("cached read, {value}"),
        );
    }
}

/// `Bundle.entry.request.ifMatch` / `ifNoneMatch` carry the header fields for one entry
/// (FHIR R4 http.html §3.1.0.11): a malformed one answers that entry 400 in a batch, and
/// refuses a transaction whole (400), for every caller; nothing is written.
#[tokio::test]
async fn a_malformed_if_match_in_a_bundle_entry_answers_400() {
    let gw = start();
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    let created = post_json(
        &gw,
        "/Observation",
        &system,
        &observation(None, "n6-bundle"),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let put = |tag: Value, element: &str| {
        json!({"resource": observation(Some(&id), "changed"),
               "request": {"method": "PUT", "url": format!("Observation/{id}"), element: tag}})
    };
    for token in [&system, &writer] {
        for (tag, element) in [
            (json!(r#"W/"1"#), "ifMatch"),
            (json!("abc"), "ifMatch"),
            (json!(1), "ifMatch"),
            (json!(r#"w/"1""#), "ifNoneMatch"),
        ] {
            let what = format!("{element} {tag}");
            let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
                put(tag.clone(), element),
                {"request": {"method": "GET", "url": format!("Observation/{id}")}}]});
            let answer = post_json(&gw, "", token, &batch).await;
            assert_eq!(answer.status, 200, "{what}: {}", answer.body);
            let body = answer.json();
            assert_eq!(body["type"], "batch-response", "{what}: {body}");
            assert_eq!(
                body["entry"][0]["response"]["status"], "400 Bad Request",
                "{what}: {body}"
            );
            let outcome = &body["entry"][0]["response"]["outcome"];
            let text = outcome["issue"][0]["diagnostics"]
                .as_str()
                .unwrap_or_default();
            assert!(
                text.contains(&format!(
                    "Bundle.entry[0]: request.{element} is not a valid entity-tag list"
                )),
                "{what}: {body}"
            );
            assert!(
                body["entry"][1]["response"]["status"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("200")),
                "{what}: {body}"
            );
            let mut transaction = batch.clone();
            transaction["type"] = json!("transaction");
            let answer = post_json(&gw, "", token, &transaction).await;
            assert_eq!(answer.status, 400, "{what}: {}", answer.body);
            assert_eq!(answer.json()["issue"][0]["code"], "invalid", "{what}");
        }
    }
    let read = get(&gw, &format!("/Observation/{id}"), &system).await;
    assert_eq!(read.json()["meta"]["versionId"], "1", "nothing was written");
    // A well-formed tag still decides as FHIR versioning says: stale 412, current writes.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        put(json!(r#"W/"7""#), "ifMatch"), put(json!(r#"W/"1""#), "ifMatch")]});
    let body = post_json(&gw, "", &system, &batch).await.json();
    assert!(
        body["entry"][0]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("412")),
        "{body}"
    );
    assert!(
        body["entry"][1]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("200")),
        "{body}"
    );
}

/// A write is never answered 304 Not Modified (RFC 9110 §15.4.5: only GET and HEAD): a
/// patient token's PUT or PATCH with `If-None-Match` matching the version it wrote answered
/// 304 although the write was stored (attack finding, 30 Nov 2026). `If-None-Match` is not
/// honoured on writes, as for a system token.
#[tokio::test]
async fn a_write_with_if_none_match_is_never_answered_304() {
    let gw = start();
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    let created = post_json(&gw, "/Observation", &system, &observation(None, "inm")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let path = format!("/Observation/{id}");
    let mut version = 1;
    for (token, tag) in [(&writer, "*"), (&writer, r#"W/"2", W/"3""#), (&system, "*")] {
        version += 1;
        let body = observation(Some(&id), &format!("amended {version}")).to_string();
        let (status, answer) = send_with(
            &gw,
            Method::PUT,
            &path,
            token,
            ("if-none-match", tag),
            Some(("application/fhir+json", body)),
        )
        .await;
        assert_eq!(status, 200, "PUT with If-None-Match {tag}: {answer}");
        assert_eq!(answer["meta"]["versionId"], version.to_string(), "{answer}");
    }
    version += 1;
    let patch = json!([{"op": "replace", "path": "/code/text", "value": "patched"}]).to_string();
    let (status, answer) = send_with(
        &gw,
        Method::PATCH,
        &path,
        &writer,
        ("if-none-match", "*"),
        Some(("application/json-patch+json", patch)),
    )
    .await;
    assert_eq!(status, 200, "PATCH with If-None-Match *: {answer}");
    assert_eq!(answer["meta"]["versionId"], version.to_string(), "{answer}");
    let read = get(&gw, &path, &system).await.json();
    assert_eq!(read["meta"]["versionId"], version.to_string());
    assert_eq!(read["code"]["text"], "patched");
}

/// A stale `ifMatch` in a batch entry answers that entry 412 and the other entries run, for
/// a patient token as for a system token (FHIR R4 §3.1.0.11.1; attack run of 30 Nov 2026,
/// finding 3: the patient token's whole batch answered 412 and nothing ran); in a
/// transaction it refuses the whole Bundle (412), nothing written.
#[tokio::test]
async fn a_stale_if_match_fails_only_its_batch_entry() {
    let gw = start();
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    let created = post_json(&gw, "/Observation", &system, &observation(None, "stale")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    for token in [&writer, &system] {
        let bundle = |kind: &str| {
            json!({"resourceType": "Bundle", "type": kind, "entry": [
                {"resource": {"resourceType": "Observation", "status": "final",
                              "code": {"coding": [{"system": "urn:test", "code": format!("new-in-{kind}")}]},
                              "subject": {"reference": format!("Patient/{A}")}},
                 "request": {"method": "POST", "url": "Observation"}},
                {"resource": observation(Some(&id), "stale write"),
                 "request": {"method": "PUT", "url": format!("Observation/{id}"), "ifMatch": "W/\"7\""}}]})
        };
        let answer = post_json(&gw, "", token, &bundle("batch")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = answer.json();
        assert_eq!(
            body["entry"][0]["response"]["status"], "201 Created",
            "{body}"
        );
        assert_eq!(
            body["entry"][1]["response"]["status"], "412 Precondition Failed",
            "{body}"
        );
        let answer = post_json(&gw, "", token, &bundle("transaction")).await;
        assert_eq!(answer.status, 412, "{}", answer.body);
    }
    let read = get(&gw, &format!("/Observation/{id}"), &system)
        .await
        .json();
    assert_eq!(read["meta"]["versionId"], "1");
    for (kind, expected) in [("transaction", 0), ("batch", 2)] {
        let found = get(
            &gw,
            &format!("/Observation?code=urn:test|new-in-{kind}"),
            &system,
        )
        .await;
        let entries = found.json()["entry"].as_array().map_or(0, Vec::len);
        assert_eq!(entries, expected, "created by the {kind}es: {}", found.body);
    }
}

/// `If-Match` sent on several lines is one list (RFC 9110 §5.3): `W/"9"` and `W/"1"` on
/// two lines match version 1, for a patient token (write guard) and a system token (store),
/// where only the first line was read (attack run of 30 Nov 2026, finding 5).
#[tokio::test]
async fn if_match_on_several_lines_is_one_list() {
    let gw = start();
    let system = system_token(&gw);
    let writer = patient_token(&gw, "patient/*.cruds");
    for token in [&writer, &system] {
        let created = post_json(&gw, "/Observation", &system, &observation(None, "lines")).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.json()["id"].as_str().expect("id").to_owned();
        let put = |tags: [&str; 2]| {
            support::client()
                .put(gw.fhir(&format!("/Observation/{id}")))
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .header("if-match", tags[0])
                .header("if-match", tags[1])
                .body(observation(Some(&id), "by lines").to_string())
                .send()
        };
        let stale = put([r#"W/"8""#, r#"W/"9""#]).await.expect("send");
        assert_eq!(stale.status().as_u16(), 412);
        let answer = put([r#"W/"9""#, r#"W/"1""#]).await.expect("send");
        assert_eq!(answer.status().as_u16(), 200);
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body["meta"]["versionId"], "2", "{body}");
    }
}
