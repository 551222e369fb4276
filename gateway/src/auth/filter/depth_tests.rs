//! The write-time depth bound (`fhirgate_conformance::depth::MAX_DEPTH`) is what the filter
//! can read back: a resource that deep, inside the deepest answer (a searchset in a
//! batch-response), is still decided; one level more is not.

use serde_json::{Value, json};

use super::scan::scan;
use crate::auth::local_base::LocalBases;
use fhirgate_conformance::depth::{MAX_DEPTH, depth};

/// A Device nesting `levels` arrays and objects (levels odd, at least 3).
fn device(levels: usize) -> Value {
    let mut e = json!({"url": "urn:x", "valueString": "v"});
    for _ in 0..(levels - 3) / 2 {
        e = json!({"url": "urn:x", "extension": [e]});
    }
    json!({"resourceType": "Device", "status": "active", "extension": [e]})
}

/// `resource` as the one match of a searchset answering one entry of a batch.
fn deepest_answer(resource: Value) -> String {
    let searchset = json!({"resourceType": "Bundle", "type": "searchset",
        "entry": [{"resource": resource}]});
    json!({"resourceType": "Bundle", "type": "batch-response",
        "entry": [{"resource": searchset, "response": {"status": "200 OK"}}]})
    .to_string()
}

#[test]
fn a_resource_at_the_write_bound_is_read_back_inside_the_deepest_answer() {
    let deepest = device(MAX_DEPTH);
    assert_eq!(depth(&deepest), MAX_DEPTH);
    let text = deepest_answer(deepest);
    assert!(scan(text.as_bytes(), &LocalBases::default()).is_some());
    assert!(serde_json::from_str::<Value>(&text).is_ok());

    let deeper = device(MAX_DEPTH + 2);
    assert_eq!(depth(&deeper), MAX_DEPTH + 2);
    let text = deepest_answer(deeper);
    assert!(scan(text.as_bytes(), &LocalBases::default()).is_none());
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

/// A log writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_answer_the_filter_cannot_read_is_withheld_and_logged_without_its_content() {
    use crate::auth::access::{Reach, Subject};
    use crate::auth::identity::Identity;
    use fhirgate_adapters::{FhirResponse, ResponseBody};

    let mut claims = serde_json::Map::new();
    claims.insert("scope".into(), json!("launch/patient patient/*.rs"));
    claims.insert("patient".into(), json!("a"));
    claims.insert("client_id".into(), json!("app"));
    let subject = Subject {
        identity: std::sync::Arc::new(Identity::from_claims(&claims, "iss", u64::MAX).expect("id")),
        user_reach: Reach::All,
        local_bases: LocalBases::default(),
    };
    // Stored before writes were bounded (or by an upstream server): too deep to read.
    let mut deep = device(MAX_DEPTH + 10);
    deep["deviceName"] = json!([{"name": "Secret Pump 3000", "type": "user-friendly-name"}]);
    let answer = FhirResponse {
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: ResponseBody::Full(bytes::Bytes::from(deep.to_string())),
    };
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let status = tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        match runtime.block_on(super::filter(&subject, answer, None)) {
            Ok(_) => 200,
            Err(e) => axum::response::IntoResponse::into_response(e)
                .status()
                .as_u16(),
        }
    });
    assert_eq!(status, 403);
    let text = String::from_utf8(log.0.lock().expect("log buffer").clone()).expect("utf-8");
    assert!(
        text.contains("answer withheld: it cannot be checked against the granted scopes"),
        "{text}"
    );
    // serde_json's recursion limit is a syntax error at a position: no content.
    assert!(
        text.contains("\"reason\":\"Syntax error at line 1 column "),
        "{text}"
    );
    assert!(text.contains("\"status\":200"), "{text}");
    assert!(
        !text.contains("Secret Pump") && !text.contains("urn:x"),
        "{text}"
    );
}
