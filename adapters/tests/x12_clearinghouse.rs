//! `kind: x12` against a clearinghouse peer started by the test (issue 8): the 270 travels in
//! the CAQH CORE Phase II envelope (MIME multipart or SOAP, CORE fields and credentials
//! asserted), the peer answers the 271 fixture, and `$submit` answers the
//! CoverageEligibilityResponse. Failures: CORE error codes, garbled answers, TA1/999
//! rejections → 502 naming them; a peer that never answers → 504; nobody listening → 502.

mod support;

use std::sync::Arc;

use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::x12::core::{CoreMessage, PAYLOAD_TYPE_271, mime, soap};
use fhirgate_adapters::{AdapterConfig, AdapterError, BuildContext, FhirRequest, SharedAdapter};
use fhirgate_mappings::x12::{eligibility, parse};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::recorder::{Canned, Recorded, Recorder, closed_base, stalling_upstream};

/// A peer's answer to each request.
type Respond = Arc<dyn Fn(&Recorded) -> Canned + Send + Sync>;

const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/x12")
            .join(name),
    )
    .expect("fixture")
}

/// A seeded SQLite store in a fresh temporary data dir, and the context holding it.
async fn context() -> BuildContext {
    let dir = std::env::temp_dir().join(format!(
        "fhirgate_x12_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut ctx = BuildContext::new(dir);
    let store: AdapterConfig =
        serde_json::from_value(json!({"kind": "store", "url": "sqlite://store.db"}))
            .expect("store config");
    let built = store.build("store", &ctx).await.expect("store");
    ctx.adapters.insert("store".into(), built);
    ctx
}

async fn x12(ctx: &BuildContext, settings: Value) -> SharedAdapter {
    let mut settings = settings;
    settings["kind"] = json!("x12");
    settings["store"] = json!("store");
    let config: AdapterConfig = serde_json::from_value(settings).expect("x12 config");
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    config.build("payer", ctx).await.expect("x12 builds")
}

fn submit(body: &Value) -> FhirRequest {
    let target = parse_target(&Method::POST, "CoverageEligibilityRequest/$submit").expect("target");
    let mut r = FhirRequest::new(Method::POST, target, "https://gw.example.org/fhir");
    r.body = body.to_string().into();
    r.request_id = "req-x12-1".into();
    r
}

fn buster_request() -> Value {
    json!({"resourceType": "CoverageEligibilityRequest", "status": "active", "purpose": ["benefits"],
        "patient": {"reference": format!("Patient/{BUSTER}")}, "created": "2024-05-01",
        "servicedDate": "2024-05-01", "provider": {"reference": "Practitioner/sandbox-prescriber"},
        "insurer": {"reference": "Organization/sandbox-payer"},
        "item": [{"category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "30"}]}}]})
}

async fn json_of(r: fhirgate_adapters::FhirResponse) -> Value {
    match r.body {
        fhirgate_adapters::ResponseBody::Full(b) => serde_json::from_slice(&b).expect("json"),
        fhirgate_adapters::ResponseBody::Stream(_) => panic!("streamed"),
    }
}

/// The peer's answer to a CORE request in `envelope`, carrying `payload`.
fn core_answer(
    request: &Recorded,
    envelope: &str,
    payload: Vec<u8>,
    error: Option<(&str, &str)>,
) -> Canned {
    let content_type = request.header("content-type").unwrap_or("").to_owned();
    let asked = if envelope == "soap" {
        soap::decode(&request.body)
    } else {
        mime::decode(&content_type, &request.body)
    }
    .expect("a CORE request");
    let mut m = CoreMessage::real_time(
        PAYLOAD_TYPE_271,
        asked.field("PayloadID").unwrap_or(""),
        "2024-05-01T10:00:01Z",
        "CLEARINGHOUSE",
        "FHIRGATE-TEST",
        payload,
    );
    let (code, text) = error.unwrap_or(("Success", ""));
    m.set("ErrorCode", code);
    m.set("ErrorMessage", text);
    if envelope == "soap" {
        Canned {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/soap+xml; charset=utf-8".into(),
            )],
            body: soap::encode(&m, "COREEnvelopeRealTimeResponse", None),
        }
    } else {
        let (ct, body) = mime::encode(&m, "peer-boundary-1");
        Canned {
            status: 200,
            headers: vec![("Content-Type".into(), ct)],
            body,
        }
    }
}

fn settings(endpoint: &str, envelope: &str) -> Value {
    json!({"endpoint": endpoint, "envelope": envelope, "sender_id": "FHIRGATE-TEST", "receiver_id": "CLEARINGHOUSE",
        "username": "fhirgate", "password": "s3cret-test-only", "timeout_seconds": 2.0,
        "interchange": {"receiver_id": "CLEARINGHOUSE", "application_receiver": "CLEARINGHOUSE"}})
}

async fn round_trip(envelope: &'static str) {
    let ctx = context().await;
    let peer = Recorder::start(move |r| {
        core_answer(
            r,
            envelope,
            fixture("271_005010X279A1_subscriber_eligibility_response.x12"),
            None,
        )
    })
    .await;
    let adapter = x12(&ctx, settings(&peer.base, envelope)).await;
    let answer = adapter
        .handle(submit(&buster_request()))
        .await
        .expect("answered");
    assert_eq!(answer.status, StatusCode::OK);
    let r = json_of(answer).await;
    assert_eq!(r["resourceType"], "CoverageEligibilityResponse");
    assert_eq!(r["outcome"], "complete");
    assert_eq!(r["patient"]["reference"], format!("Patient/{BUSTER}"));
    assert_eq!(r["insurer"]["reference"], "Organization/sandbox-payer");
    assert_eq!(
        r["insurance"][0]["coverage"]["reference"],
        "Coverage/sandbox-coverage-buster"
    );
    assert_eq!(r["insurance"][0]["inforce"], true);
    let copay = r["insurance"][0]["item"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| {
            i["category"]["coding"][0]["code"] == "98" && i["network"]["coding"][1]["code"] == "in"
        })
        .cloned()
        .expect("office visit copay");
    assert_eq!(
        copay["benefit"][0]["allowedMoney"]["value"].to_string(),
        "10.00"
    );
    let sent = &peer.requests()[0];
    let content_type = sent.header("content-type").unwrap_or("").to_owned();
    let core = if envelope == "soap" {
        assert!(
            content_type.starts_with("application/soap+xml"),
            "{content_type}"
        );
        soap::decode(&sent.body).expect("soap")
    } else {
        assert!(
            content_type.starts_with("multipart/form-data; boundary="),
            "{content_type}"
        );
        mime::decode(&content_type, &sent.body).expect("mime")
    };
    for (field, value) in [
        ("PayloadType", "X12_270_Request_005010X279A1"),
        ("ProcessingMode", "RealTime"),
        ("SenderID", "FHIRGATE-TEST"),
        ("ReceiverID", "CLEARINGHOUSE"),
        ("CORERuleVersion", "2.2.0"),
        ("UserName", "fhirgate"),
        ("Password", "s3cret-test-only"),
    ] {
        assert_eq!(core.field(field), Some(value), "{field}");
    }
    assert_eq!(core.field("PayloadID").map(str::len), Some(32));
    assert!(
        core.field("TimeStamp")
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{:?}",
        core.field("TimeStamp")
    );
    let doc = parse(&core.payload).expect("the 270 parses");
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    let t = doc.transactions().next().expect("270");
    assert_eq!(t.interchange.receiver_id(), "CLEARINGHOUSE");
    let e = &eligibility::read(t).expect("reads")[0];
    let s = e.subscriber.as_ref().expect("subscriber");
    assert_eq!(s.name.id, "SBX0000001");
    assert_eq!(s.traces[0].number, core.field("PayloadID").unwrap_or(""));
    assert_eq!(
        e.receiver.as_ref().map(|r| r.id.as_str()),
        Some("1234567893")
    );
}

#[tokio::test]
async fn mime_envelope_round_trip_with_the_271_fixture() {
    round_trip("mime").await;
}

#[tokio::test]
async fn soap_envelope_round_trip_with_the_271_fixture() {
    round_trip("soap").await;
}

#[tokio::test]
async fn the_aaa_fixture_is_a_200_error_outcome() {
    let ctx = context().await;
    let peer = Recorder::start(|r| {
        core_answer(
            r,
            "mime",
            fixture("271_005010X279A1_AAA_rejection.x12"),
            None,
        )
    })
    .await;
    let adapter = x12(&ctx, settings(&peer.base, "mime")).await;
    let answer = adapter
        .handle(submit(&buster_request()))
        .await
        .expect("answered");
    assert_eq!(answer.status, StatusCode::OK);
    let r = json_of(answer).await;
    assert_eq!(r["outcome"], "error");
    assert_eq!(r["error"][0]["code"]["coding"][0]["code"], "50");
    assert!(r.get("insurance").is_none());
}

fn bad_gateway(e: AdapterError, needle: &str) {
    assert_eq!(e.status(), StatusCode::BAD_GATEWAY, "{e}");
    assert!(e.to_string().contains(needle), "{needle} in {e}");
    assert!(
        !e.to_string().contains("s3cret"),
        "no credentials in errors"
    );
}

#[tokio::test]
async fn clearinghouse_failures_are_502_or_504_naming_them() {
    let ctx = context().await;
    let ta1 = b"ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*FHIRGATE       *240501*1000*^*00501*000000001*0*T*:~TA1*000000001*240501*1000*R*022~IEA*0*000000001~".to_vec();
    let cases: Vec<(Respond, &str)> = vec![
        (
            Arc::new(|r| {
                core_answer(
                    r,
                    "mime",
                    fixture("271_005010X279A1_subscriber_eligibility_response.x12"),
                    Some(("SenderIDRequired", "who are you")),
                )
            }),
            "CORE ErrorCode SenderIDRequired: who are you",
        ),
        (
            Arc::new(|_| Canned {
                status: 200,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html>maintenance</html>".to_vec(),
            }),
            "garbled CAQH CORE answer",
        ),
        (
            Arc::new(|_| Canned {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "multipart/form-data; boundary=x".into(),
                )],
                body: b"--x\r\nbroken".to_vec(),
            }),
            "garbled CAQH CORE answer",
        ),
        (
            Arc::new(|r| core_answer(r, "mime", b"this is not X12".to_vec(), None)),
            "not usable X12",
        ),
        (
            Arc::new(move |r| core_answer(r, "mime", ta1.clone(), None)),
            "TA1 rejected interchange 000000001: Invalid Control Structure (022)",
        ),
        (
            Arc::new(|_| Canned {
                status: 401,
                headers: vec![],
                body: Vec::new(),
            }),
            "refused our credentials (HTTP 401)",
        ),
        (
            Arc::new(|_| Canned {
                status: 503,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: b"busy".to_vec(),
            }),
            "answered HTTP 503",
        ),
    ];
    for (respond, needle) in cases {
        let respond = respond.clone();
        let peer = Recorder::start(move |r| respond(r)).await;
        let adapter = x12(&ctx, settings(&peer.base, "mime")).await;
        let e = adapter
            .handle(submit(&buster_request()))
            .await
            .expect_err(needle);
        bad_gateway(e, needle);
    }
    let adapter = x12(&ctx, settings(&closed_base(), "mime")).await;
    let e = adapter
        .handle(submit(&buster_request()))
        .await
        .expect_err("unreachable");
    assert!(matches!(e, AdapterError::Unreachable { .. }), "{e}");
    assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
    assert!(
        adapter.check().await.is_err(),
        "readyz reports the closed endpoint"
    );
    let (stalling, task) = stalling_upstream().await;
    let adapter = x12(&ctx, settings(&stalling, "soap")).await;
    let started = std::time::Instant::now();
    let e = adapter
        .handle(submit(&buster_request()))
        .await
        .expect_err("timeout");
    assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT, "{e}");
    assert!(started.elapsed().as_secs_f64() < 10.0);
    task.abort();
}

#[tokio::test]
async fn what_the_client_got_wrong_is_answered_before_any_exchange() {
    let ctx = context().await;
    let peer = Recorder::start(|_| Canned {
        status: 500,
        headers: vec![],
        body: Vec::new(),
    })
    .await;
    let adapter = x12(&ctx, settings(&peer.base, "mime")).await;
    let mut no_provider = buster_request();
    no_provider
        .as_object_mut()
        .expect("object")
        .remove("provider");
    let mut ghost = buster_request();
    ghost["patient"] = json!({"reference": "Patient/nobody-here"});
    let mut elsewhere = buster_request();
    elsewhere["patient"] =
        json!({"reference": format!("https://other.example.org/fhir/Patient/{BUSTER}")});
    for (body, status, needle) in [
        (
            json!({"resourceType": "Patient"}),
            StatusCode::BAD_REQUEST,
            "must be a CoverageEligibilityRequest",
        ),
        (no_provider, StatusCode::UNPROCESSABLE_ENTITY, "provider"),
        (
            ghost,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Patient/nobody-here does not exist",
        ),
        (
            elsewhere,
            StatusCode::UNPROCESSABLE_ENTITY,
            "on this server",
        ),
    ] {
        let answer = adapter.handle(submit(&body)).await.expect("answered");
        assert_eq!(answer.status, status, "{needle}");
        let oo = json_of(answer).await;
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert!(
            oo["issue"][0]["diagnostics"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{needle}: {oo}"
        );
    }
    let target =
        parse_target(&Method::POST, "CoverageEligibilityRequest/$validate").expect("target");
    let answer = adapter
        .handle(FhirRequest::new(
            Method::POST,
            target,
            "https://gw.example.org/fhir",
        ))
        .await
        .expect("answered");
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        peer.requests().is_empty(),
        "nothing reached the clearinghouse"
    );
}
