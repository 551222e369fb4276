//! `$ingest` and non-FHIR endpoint findings of a fresh-user attack run, through the real
//! binary with the shipped `gateway.yaml` (embedded store seeded with the Synthea patients):
//! malformed HealthKit XML answers 400 like malformed JSON does for the JSON formats; a 415
//! names the format's media type; whether a Patient exists is told only to a caller that
//! may read it; the sandbox token endpoint answers 413 as RFC 6749 §5.2 JSON; another method
//! than GET on `/healthz`, `/readyz`, `/metrics` answers 405 with `Allow` and a body.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Gateway, authed, client, fixture, repo_root};

/// Seeded Synthea patient Buster Hoeger.
const A: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";

fn shipped() -> Gateway {
    let config = std::fs::read_to_string(repo_root().join("gateway.yaml"))
        .expect("gateway.yaml")
        .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0");
    Gateway::start(&config)
}

/// Status, `content-type`, `www-authenticate`, `allow` and the JSON body of `r`.
struct Answer {
    status: StatusCode,
    content_type: String,
    challenge: String,
    allow: String,
    body: Value,
}

async fn answer(r: reqwest::Response) -> Answer {
    let h = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, content_type, challenge, allow) = (
        r.status(),
        h("content-type"),
        h("www-authenticate"),
        h("allow"),
    );
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    Answer {
        status,
        content_type,
        challenge,
        allow,
        body,
    }
}

async fn ingest(
    c: &reqwest::Client,
    gw: &Gateway,
    patient: &str,
    query: &str,
    media: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut request = c.post(gw.fhir(&format!("/Patient/{patient}/$ingest?{query}")));
    if let Some(media) = media {
        request = request.header("content-type", media);
    }
    answer(request.body(body).send().await.expect("send")).await
}

fn outcome(code: &str, diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]})
}

async fn observations_of(gw: &Gateway, patient: &str) -> Value {
    let c = gw.system_client();
    let url = gw.fhir(&format!(
        "/Observation?subject=Patient/{patient}&_summary=count"
    ));
    answer(c.get(url).send().await.expect("count")).await.body["total"].clone()
}

#[tokio::test]
async fn malformed_healthkit_xml_answers_400_and_stores_nothing() {
    let gw = shipped();
    gw.put_patient("p1").await;
    let c = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        "p1",
    ]));
    let vitals = fixture("wearables/apple-healthkit/fhirgate-export-vitals.xml");
    let record = vitals
        .windows(7)
        .position(|w| w == b"<Record")
        .expect("a Record");
    // Cut inside the first Record: malformed before any reading.
    let cut = vitals[..record + 40].to_vec();
    let script = fixture("ncpdp-script/NewRx_2017071_basic.xml");
    let omh = fixture("wearables/openmhealth/omh-heart-rate-2.0.json");
    for (body, diagnostics) in [
        (
            cut,
            "malformed healthkit XML at byte 381: syntax error: tag not closed: `>` not found before end of input",
        ),
        (
            script,
            "malformed healthkit XML at byte 109: the root element is not HealthData",
        ),
        (
            omh.clone(),
            "malformed healthkit XML at byte 218: the input ends before </HealthData> (truncated)",
        ),
    ] {
        let a = ingest(
            &c,
            &gw,
            "p1",
            "format=healthkit",
            Some("application/xml"),
            body,
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.content_type.starts_with("application/fhir+json"));
        assert_eq!(a.body, outcome("invalid", diagnostics));
    }
    // The same request-level 400 as malformed JSON for the JSON formats.
    let a = ingest(
        &c,
        &gw,
        "p1",
        "format=omh",
        Some("application/json"),
        b"{\"header\":".to_vec(),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["issue"][0]["code"], "invalid");
    assert_eq!(observations_of(&gw, "p1").await, json!(0));
    // A defect after readings: those before it are stored and answered, the defect is the
    // next reading's 400 entry (the answer does not depend on ingest.batch_size).
    let truncated = fixture("wearables/apple-healthkit/fhirgate-INVALID-truncated-xml.xml");
    let a = ingest(
        &c,
        &gw,
        "p1",
        "format=healthkit",
        Some("application/xml"),
        truncated,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let entries = a.body["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{}", a.body);
    assert_eq!(entries[0]["response"]["status"], "201 Created");
    assert_eq!(entries[1]["response"]["status"], "400 Bad Request");
    let issue = &entries[1]["response"]["outcome"]["issue"][0];
    assert_eq!(issue["code"], "structure");
    assert_eq!(
        issue["diagnostics"],
        "reading 2: malformed healthkit XML at byte 407: syntax error: tag not closed: `>` not found before end of input"
    );
    assert_eq!(observations_of(&gw, "p1").await, json!(1));
}

#[tokio::test]
async fn a_415_names_the_media_type_of_the_format() {
    let gw = shipped();
    let c = gw.system_client();
    let vitals = fixture("wearables/apple-healthkit/fhirgate-export-vitals.xml");
    let omh = fixture("wearables/openmhealth/omh-heart-rate-2.0.json");
    for (query, media, body, diagnostics) in [
        (
            "format=healthkit",
            Some("text/plain"),
            vitals.clone(),
            "Content-Type: text/plain is not accepted for $ingest: format=healthkit takes application/xml (or text/xml)",
        ),
        (
            "format=healthkit",
            None,
            vitals.clone(),
            "a body without Content-Type is not accepted for $ingest: format=healthkit takes application/xml (or text/xml)",
        ),
        (
            "format=omh",
            Some("text/csv"),
            omh.clone(),
            "Content-Type: text/csv is not accepted for $ingest: format=omh takes application/json",
        ),
        (
            "format=fitbit",
            Some("application/fhir+xml"),
            omh.clone(),
            "Content-Type: application/fhir+xml is not accepted for $ingest: format=fitbit takes application/json",
        ),
        // A body declared as the other family is not parsed as this format.
        (
            "format=healthkit",
            Some("application/json"),
            vitals.clone(),
            "Content-Type: application/json is not accepted for $ingest: format=healthkit takes application/xml (or text/xml)",
        ),
        (
            "format=omh",
            Some("application/xml"),
            omh.clone(),
            "Content-Type: application/xml is not accepted for $ingest: format=omh takes application/json",
        ),
        (
            "format=gpx",
            Some("text/plain"),
            omh.clone(),
            "Content-Type: text/plain is not accepted for $ingest: use application/json for format=omh, fitbit or googlefit, application/xml for format=healthkit",
        ),
    ] {
        let a = ingest(&c, &gw, A, query, media, body).await;
        assert_eq!(a.status, 415, "{query} {media:?}: {}", a.body);
        assert_eq!(a.body, outcome("not-supported", diagnostics));
    }
    // The accepted types still ingest.
    for (query, media, body) in [
        ("format=healthkit", "application/xml", vitals.clone()),
        ("format=healthkit", "text/xml", vitals),
        ("format=omh", "application/json", omh),
    ] {
        let a = ingest(&c, &gw, A, query, Some(media), body).await;
        assert_eq!(a.status, 200, "{query} {media}: {}", a.body);
    }
}

#[tokio::test]
async fn ingest_tells_whether_a_patient_exists_only_to_a_caller_that_may_read_it() {
    let gw = shipped();
    let omh = fixture("wearables/openmhealth/omh-heart-rate-2.0.json");
    let seeded = observations_of(&gw, A).await;
    // Observation write without Patient read: existing and missing answer alike.
    let writer = authed(&gw.token("system/Observation.c"));
    let existing = ingest(
        &writer,
        &gw,
        A,
        "format=omh",
        Some("application/json"),
        omh.clone(),
    )
    .await;
    let missing = ingest(
        &writer,
        &gw,
        "nobody",
        "format=omh",
        Some("application/json"),
        omh.clone(),
    )
    .await;
    let why = "$ingest needs read access to the Patient it names (r on Patient, e.g. system/Patient.r), or that patient as the launch context: whether the patient exists is checked";
    for a in [&existing, &missing] {
        assert_eq!(a.status, 403, "{}", a.body);
        assert_eq!(a.body, outcome("forbidden", why));
        assert_eq!(
            a.challenge,
            format!(
                r#"Bearer realm="fhirgate", error="insufficient_scope", error_description="{why}""#
            )
        );
    }
    assert_eq!(observations_of(&gw, A).await, seeded, "nothing stored");
    // With Patient read: 404 for the missing one, the readings stored for the other.
    let reader = authed(&gw.token("system/Observation.c system/Patient.r"));
    let a = ingest(
        &reader,
        &gw,
        "nobody",
        "format=omh",
        Some("application/json"),
        omh.clone(),
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert_eq!(
        a.body,
        outcome("not-found", "Patient/nobody does not exist")
    );
    let a = ingest(
        &reader,
        &gw,
        A,
        "format=omh",
        Some("application/json"),
        omh.clone(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["entry"][0]["response"]["status"], "201 Created");
    // A patient-context app writes for its launch patient without Patient read.
    let app = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/Observation.c",
        "--patient",
        A,
    ]));
    let a = ingest(&app, &gw, A, "format=omh", Some("application/json"), omh).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["entry"][0]["response"]["status"], "200 OK");
}

#[tokio::test]
async fn oauth_413_is_rfc6749_json_and_ops_405_has_allow_and_a_body() {
    let gw = shipped();
    let c = client();
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(70 * 1024)
    );
    // Introspection needs the caller's own token first (RFC 7662 §2.1), then reads the body.
    let caller = format!("Bearer {}", gw.token("system/Patient.r"));
    for path in ["/sandbox/auth/token", "/sandbox/auth/introspect"] {
        let r = c
            .post(format!("{}{path}", gw.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", caller.as_str())
            .body(big.clone())
            .send()
            .await
            .expect("send");
        let no_store = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let a = answer(r).await;
        assert_eq!(a.status, 413, "{path}");
        assert_eq!(a.content_type, "application/json", "{path}");
        assert_eq!(no_store.as_deref(), Some("no-store"), "{path}");
        assert_eq!(
            a.body,
            json!({"error": "invalid_request", "error_description": "the request body exceeds 65536 bytes"}),
            "{path}"
        );
    }
    for (method, path, allow) in [
        (reqwest::Method::POST, "/healthz", "GET, HEAD"),
        (reqwest::Method::DELETE, "/readyz", "GET, HEAD"),
        (reqwest::Method::PUT, "/metrics", "GET, HEAD"),
        (
            reqwest::Method::POST,
            "/fhir/.well-known/smart-configuration",
            "GET, HEAD",
        ),
        (reqwest::Method::GET, "/sandbox/auth/token", "POST"),
        (reqwest::Method::DELETE, "/sandbox/auth/introspect", "POST"),
        (reqwest::Method::POST, "/sandbox/auth/jwks", "GET, HEAD"),
        (reqwest::Method::PUT, "/sandbox/auth/authorize", "GET, HEAD"),
    ] {
        let r = c
            .request(method.clone(), format!("{}{path}", gw.url))
            .send()
            .await
            .expect("send");
        let a = answer(r).await;
        assert_eq!(a.status, 405, "{method} {path}");
        assert_eq!(a.allow, allow, "{method} {path}");
        assert!(
            a.content_type.starts_with("application/fhir+json"),
            "{}",
            a.content_type
        );
        let first = allow.split(',').next().unwrap_or(allow);
        assert_eq!(
            a.body,
            outcome(
                "not-supported",
                &format!("{method} is not supported on {path}: use {first}")
            )
        );
    }
    let a = answer(
        c.get(format!("{}/healthz", gw.url))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (a.status, a.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
}
