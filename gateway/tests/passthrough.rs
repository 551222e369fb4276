//! The `fhir` adapter end to end through the binary: fhirgate in front of a second
//! `fhirgate serve` on the embedded store, and in front of a FHIR engine we did not write
//! (@medplum/fhir-router). Every interaction, link rewriting, and 502/504 behind us.

#[path = "../../adapters/tests/support/peers.rs"]
mod peers;
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, auth_section, free_port};

const FHIR_JSON: &str = "application/fhir+json";

fn front_config(upstream_base: &str, timeout: f64, upstream_auth: &str) -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  ehr:\n    kind: fhir\n    base_url: {upstream_base}\n    timeout_seconds: {timeout}\n{upstream_auth}routes:\n  - resources: [\"*\"]\n    adapters: [ehr]\n"
    )
}

async fn send_json(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: &Value,
) -> reqwest::Response {
    c.request(method, url)
        .header("content-type", FHIR_JSON)
        .body(body.to_string())
        .send()
        .await
        .expect("send")
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

/// Every interaction through `gw`, asserting that answers carry the gateway's own base.
async fn suite(gw: &Gateway, deleted_status: &[u16], exact_upstream: bool) {
    let c = gw.system_client();
    let base = gw.fhir("");
    let patient = json!({"resourceType": "Patient", "identifier": [{"system": "urn:fhirgate:test", "value": "pt-1"}],
        "name": [{"family": "Passthrough", "given": ["Pat"]}], "birthDate": "1970-01-01"});
    let r = send_json(&c, reqwest::Method::POST, &gw.fhir("/Patient"), &patient).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{base}/Patient/")),
        "{location} under {base}"
    );
    let created: Value = r.json().await.expect("json");
    let id = created["id"].as_str().expect("id").to_owned();

    let r = c
        .get(gw.fhir(&format!("/Patient/{id}")))
        .send()
        .await
        .expect("read");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("etag"));
    let read: Value = r.json().await.expect("json");
    assert_eq!(read["name"][0]["family"], "Passthrough");
    let version = read["meta"]["versionId"]
        .as_str()
        .expect("versionId")
        .to_owned();

    let mut updated = read.clone();
    updated["gender"] = json!("male");
    let r = send_json(
        &c,
        reqwest::Method::PUT,
        &gw.fhir(&format!("/Patient/{id}")),
        &updated,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = c
        .get(gw.fhir(&format!("/Patient/{id}/_history/{version}")))
        .send()
        .await
        .expect("vread");
    assert_eq!(r.status(), StatusCode::OK);
    let old: Value = r.json().await.expect("json");
    assert!(
        old.get("gender").is_none(),
        "vread returns the first version"
    );

    let patch = json!([{"op": "replace", "path": "/gender", "value": "female"}]);
    let r = c
        .patch(gw.fhir(&format!("/Patient/{id}")))
        .header("content-type", "application/json-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::OK);
    let patched: Value = r.json().await.expect("json");
    assert_eq!(patched["gender"], "female");

    let r = c
        .get(gw.fhir(&format!("/Patient/{id}/_history")))
        .send()
        .await
        .expect("history");
    assert_eq!(r.status(), StatusCode::OK);
    let history: Value = r.json().await.expect("json");
    assert_eq!(history["type"], "history");
    assert!(entries(&history).len() >= 3);
    for e in entries(&history) {
        if let Some(full) = e["fullUrl"].as_str() {
            assert!(full.starts_with(&base), "history fullUrl {full}");
        }
    }

    for (n, when) in [
        "2013-04-05T14:00:00Z",
        "2013-04-05T15:00:00Z",
        "2013-04-05T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let obs = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
            "subject": {"reference": format!("Patient/{id}")}, "effectiveDateTime": when,
            "valueQuantity": {"value": 72.10 + n as f64, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
        assert_eq!(
            send_json(&c, reqwest::Method::POST, &gw.fhir("/Observation"), &obs)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    // `|` unencoded in the query, paging one at a time through `next` links.
    let mut url =
        format!("{base}/Observation?subject=Patient/{id}&code=http://loinc.org|8867-4&_count=1");
    let mut seen = Vec::new();
    for _ in 0..10 {
        let page: Value = c
            .get(&url)
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        assert_eq!(page["type"], "searchset");
        for e in entries(&page) {
            let full = e["fullUrl"].as_str().expect("fullUrl");
            assert!(full.starts_with(&format!("{base}/Observation/")), "{full}");
            seen.push(e["resource"]["id"].as_str().expect("id").to_owned());
        }
        let next = page["link"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["relation"] == "next"))
            .and_then(|l| l["url"].as_str());
        match next {
            Some(next) => {
                assert!(
                    next.starts_with(&base),
                    "next link {next} rewritten to {base}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "paged through all three Observations");

    // `+` sent unencoded: the correct search (two readings at or after 13:20Z), never an empty 200.
    let r = c
        .get(format!(
            "{base}/Observation?subject=Patient/{id}&date=ge2013-04-05T18:50:00+05:30"
        ))
        .send()
        .await
        .expect("date");
    assert_eq!(r.status(), StatusCode::OK);
    let found: Value = r.json().await.expect("json");
    let matched = entries(&found)
        .iter()
        .filter(|e| {
            e["search"]["mode"] != "outcome" && e["resource"]["resourceType"] == "Observation"
        })
        .count();
    assert_eq!(matched, 2, "{found}");

    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1c1a4e-0000-4000-8000-000000000001", "resource": {"resourceType": "Patient", "name": [{"family": "Tx"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "note"},
         "subject": {"reference": "urn:uuid:6f1c1a4e-0000-4000-8000-000000000001"}}, "request": {"method": "POST", "url": "Observation"}}]});
    let r = send_json(&c, reqwest::Method::POST, &base, &transaction).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tx: Value = r.json().await.expect("json");
    assert_eq!(tx["type"], "transaction-response");
    for e in entries(&tx) {
        assert!(
            e["response"]["status"]
                .as_str()
                .unwrap_or("")
                .starts_with("201"),
            "{e}"
        );
        let loc = e["response"]["location"].as_str().unwrap_or("");
        assert!(
            !loc.starts_with("http") || loc.starts_with(&base),
            "location {loc}"
        );
    }

    let conditional = json!({"resourceType": "Patient", "identifier": [{"system": "urn:fhirgate:test", "value": "cond-1"}]});
    let mut ids = Vec::new();
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        let r = c
            .post(gw.fhir("/Patient"))
            .header("content-type", FHIR_JSON)
            .header("if-none-exist", "identifier=urn:fhirgate:test|cond-1")
            .body(conditional.to_string())
            .send()
            .await
            .expect("cond");
        assert_eq!(r.status(), expected);
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let body = r.text().await.unwrap_or_default();
        let id = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .or(location);
        ids.push(id.unwrap_or_default());
    }
    assert!(
        !ids[0].is_empty() && ids[1].contains(ids[0].as_str()) || ids[0].contains(ids[1].as_str()),
        "{ids:?}"
    );

    // Exactness: decimals keep their digits, primitive extensions survive (the gateway never
    // re-encodes them; medplum, in JavaScript, prints 72.1 itself).
    let raw = format!(
        r#"{{"resourceType":"Observation","status":"final","code":{{"text":"weight"}},"subject":{{"reference":"Patient/{id}"}},"valueQuantity":{{"value":72.10,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}},"_status":{{"extension":[{{"url":"http://example.org/x","valueDecimal":1.50}}]}}}}"#
    );
    let r = c
        .post(gw.fhir("/Observation"))
        .header("content-type", FHIR_JSON)
        .body(raw)
        .send()
        .await
        .expect("exact");
    assert_eq!(r.status(), StatusCode::CREATED);
    let oid = r.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let text = c
        .get(gw.fhir(&format!("/Observation/{oid}")))
        .send()
        .await
        .expect("read")
        .text()
        .await
        .expect("text");
    if exact_upstream {
        assert!(text.contains("72.10") && text.contains("1.50"), "{text}");
    }
    let r = c
        .delete(gw.fhir(&format!("/Patient/{id}")))
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success(), "{}", r.status());
    let r = c
        .get(gw.fhir(&format!("/Patient/{id}")))
        .send()
        .await
        .expect("read deleted");
    assert!(
        deleted_status.contains(&r.status().as_u16()),
        "{}",
        r.status()
    );
}

/// A P-384 key pair from `tests/peers/keygen.mjs` (node:crypto only, no npm packages):
/// (PKCS#8 PEM, JWK Set JSON).
fn keypair(kid: &str) -> (String, String) {
    let script = support::repo_root().join("tests/peers/keygen.mjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .args(["ES384", kid])
        .output()
        .expect("node keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("keygen json");
    (
        v["private_pem"].as_str().expect("pem").to_owned(),
        v["jwks"].to_string(),
    )
}

#[tokio::test]
async fn passthrough_to_a_second_fhirgate_on_the_embedded_store() {
    // The upstream fhirgate requires SMART tokens too: the front authenticates to its
    // sandbox as a registered backend service with private_key_jwt (SMART Backend Services).
    let port = free_port();
    let (pem, jwks) = keypair("front-k1");
    let issuer = format!("http://127.0.0.1:{port}/sandbox/auth");
    let client =
        format!("      - client_id: front-gw\n        scope: system/*.*\n        jwks: {jwks}\n");
    let upstream_config = format!(
        "server:\n  listen: 127.0.0.1:{port}\n{}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n",
        auth_section(&issuer, &client)
    );
    let upstream = Gateway::start(&upstream_config);
    let key_file = upstream.dir.path().join("front.pem");
    std::fs::write(&key_file, pem).expect("key");
    let upstream_auth = format!(
        "    auth:\n      method: private_key_jwt\n      token_url: {issuer}/token\n      client_id: front-gw\n      private_key_file: {}\n      key_id: front-k1\n      algorithm: ES384\n      scope: system/*.*\n",
        key_file.display()
    );
    let front = Gateway::start(&front_config(&upstream.fhir(""), 30.0, &upstream_auth));
    suite(&front, &[410], true).await;
}

#[tokio::test]
async fn passthrough_to_medplum_fhir_router() {
    let (_peer, base) = peers::Peer::medplum();
    let front = Gateway::start(&front_config(&base, 30.0, ""));
    suite(&front, &[404, 410], false).await;
}

#[tokio::test]
async fn upstream_down_answers_502_with_an_operation_outcome() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let front = Gateway::start(&front_config(
        &format!("http://127.0.0.1:{port}/fhir"),
        5.0,
        "",
    ));
    let c = front.system_client();
    let r = c.get(front.fhir("/Patient/1")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("ehr"),
        "{oo}"
    );
    let r = c
        .get(format!("{}/readyz", front.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["failing"][0]["adapter"], "ehr");
}

#[tokio::test]
async fn stalling_upstream_answers_504() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let front = Gateway::start(&front_config(
        &format!("http://127.0.0.1:{port}/fhir"),
        1.0,
        "",
    ));
    let c = front.system_client();
    let started = std::time::Instant::now();
    let r = c.get(front.fhir("/Patient/1")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed().as_secs_f64() < 10.0);
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["issue"][0]["code"], "timeout");
    hold.abort();
}
