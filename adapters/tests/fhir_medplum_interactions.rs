//! Every FHIR interaction through `FhirAdapter::handle` against a FHIR engine we did not
//! write: `@medplum/fhir-router` with its in-memory repository (`tests/peers/`), which
//! answers absolute URLs under its own base, so rewriting to the public base is exercised.

mod support;

use fhirgate_adapters::{Adapter, ResponseBody};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use support::peers::Peer;
use support::{PUBLIC_BASE, adapter, body_bytes, body_json, header, request, with_json};

fn observation(value: &str) -> Value {
    serde_json::from_str(&format!(
        r#"{{"resourceType":"Observation","status":"final",
            "code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4"}}]}},
            "effectiveDateTime":"2013-04-06T10:00:00+05:30",
            "valueQuantity":{{"value":{value},"unit":"/min"}}}}"#
    ))
    .expect("json")
}

#[tokio::test]
async fn crud_vread_patch_history_delete() {
    let (_peer, base) = Peer::medplum();
    let a = adapter(json!({"base_url": base}));

    // create
    let resp = a
        .handle(with_json(
            request(Method::POST, "Patient"),
            &json!({"resourceType": "Patient", "name": [{"family": "Chalmers"}]}),
        ))
        .await
        .expect("create");
    assert_eq!(resp.status, StatusCode::CREATED);
    let location = header(&resp, "location").expect("Location").to_owned();
    let created = body_json(resp).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let v1 = created["meta"]["versionId"]
        .as_str()
        .expect("versionId")
        .to_owned();
    assert_eq!(
        location,
        format!("{PUBLIC_BASE}/Patient/{id}/_history/{v1}")
    );

    // read
    let resp = a
        .handle(request(Method::GET, &format!("Patient/{id}")))
        .await
        .expect("read");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(header(&resp, "etag"), Some(format!("W/\"{v1}\"").as_str()));
    assert_eq!(body_json(resp).await["name"][0]["family"], "Chalmers");

    // update
    let mut put = with_json(
        request(Method::PUT, &format!("Patient/{id}")),
        &json!({"resourceType": "Patient", "id": id, "name": [{"family": "Chalmers", "given": ["Peter"]}]}),
    );
    put.headers.insert(
        "if-match",
        HeaderValue::from_str(&format!("W/\"{v1}\"")).expect("hv"),
    );
    let resp = a.handle(put).await.expect("update");
    assert_eq!(resp.status, StatusCode::OK);
    let updated = body_json(resp).await;
    assert_eq!(updated["name"][0]["given"][0], "Peter");
    assert_ne!(updated["meta"]["versionId"].as_str(), Some(v1.as_str()));

    // patch (JSON Patch)
    let mut patch = request(Method::PATCH, &format!("Patient/{id}"));
    patch.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json-patch+json"),
    );
    patch.body = json!([{"op": "add", "path": "/active", "value": true}])
        .to_string()
        .into();
    let resp = a.handle(patch).await.expect("patch");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(body_json(resp).await["active"], true);

    // vread of the first version
    let resp = a
        .handle(request(Method::GET, &format!("Patient/{id}/_history/{v1}")))
        .await
        .expect("vread");
    assert_eq!(resp.status, StatusCode::OK);
    let old = body_json(resp).await;
    assert_eq!(old["meta"]["versionId"], v1.as_str());
    assert!(old.get("active").is_none());

    // history: three versions, fullUrls under the public base
    let resp = a
        .handle(request(Method::GET, &format!("Patient/{id}/_history")))
        .await
        .expect("history");
    assert_eq!(resp.status, StatusCode::OK);
    let history = body_json(resp).await;
    assert_eq!(history["type"], "history");
    let entries = history["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_eq!(e["fullUrl"], format!("{PUBLIC_BASE}/Patient/{id}").as_str());
    }

    // delete, then the read fails
    let resp = a
        .handle(request(Method::DELETE, &format!("Patient/{id}")))
        .await
        .expect("delete");
    assert_eq!(resp.status, StatusCode::OK);
    let resp = a
        .handle(request(Method::GET, &format!("Patient/{id}")))
        .await
        .expect("read");
    assert!(
        matches!(resp.status, StatusCode::NOT_FOUND | StatusCode::GONE),
        "{}",
        resp.status
    );
    // Upstream OperationOutcome passes through.
    assert_eq!(body_json(resp).await["resourceType"], "OperationOutcome");
}

#[tokio::test]
async fn search_with_pipe_paging_and_next_link_rewriting() {
    let (peer, base) = Peer::medplum();
    let a = adapter(json!({"base_url": base}));
    for value in ["72.10", "80", "44"] {
        let resp = a
            .handle(with_json(
                request(Method::POST, "Observation"),
                &observation(value),
            ))
            .await
            .expect("create");
        assert_eq!(resp.status, StatusCode::CREATED);
    }
    let raw = "code=http://loinc.org|8867-4&_count=2";
    let resp = a
        .handle(request(Method::GET, &format!("Observation?{raw}")))
        .await
        .expect("search");
    assert_eq!(resp.status, StatusCode::OK);
    let page1 = body_json(resp).await;
    assert_eq!(page1["total"], 3);
    assert_eq!(page1["entry"].as_array().expect("entries").len(), 2);
    for e in page1["entry"].as_array().expect("entries") {
        let full = e["fullUrl"].as_str().expect("fullUrl");
        assert_eq!(
            full,
            format!(
                "{PUBLIC_BASE}/Observation/{}",
                e["resource"]["id"].as_str().expect("id")
            )
        );
    }
    let link = |page: &Value, rel: &str| {
        page["link"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["relation"] == rel))
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(
        link(&page1, "self").as_deref(),
        Some(format!("{PUBLIC_BASE}/Observation?{raw}").as_str())
    );
    let next = link(&page1, "next").expect("next link");
    assert_eq!(next, format!("{PUBLIC_BASE}/Observation?{raw}&_offset=2"));
    assert!(
        peer.stderr_lines()
            .iter()
            .any(|l| l == &format!("GET /fhir/R4/Observation?{raw}"))
    );

    // Follow the rewritten next link through the adapter, as a client would via the gateway.
    let path = next
        .strip_prefix(&format!("{PUBLIC_BASE}/"))
        .expect("under public base");
    let resp = a.handle(request(Method::GET, path)).await.expect("page 2");
    let page2 = body_json(resp).await;
    assert_eq!(page2["entry"].as_array().expect("entries").len(), 1);
    // The decimal the upstream stored comes back as the upstream wrote it.
    let values: Vec<String> = page1["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(page2["entry"].as_array().into_iter().flatten())
        .map(|e| e["resource"]["valueQuantity"]["value"].to_string())
        .collect();
    assert_eq!(values.len(), 3);

    // The `+` of a timezone offset sent unencoded reaches the upstream exactly as sent.
    let raw_date = "date=ge2013-04-05T18:50:00+05:30";
    let resp = a
        .handle(request(Method::GET, &format!("Observation?{raw_date}")))
        .await
        .expect("date search");
    // The upstream decodes `+` as a space: it answers the right search or a 400
    // OperationOutcome (Medplum: 400), never an empty 200.
    let status = resp.status;
    let answer = body_json(resp).await;
    match status {
        StatusCode::OK => assert_eq!(answer["total"], 3),
        StatusCode::BAD_REQUEST => assert_eq!(answer["resourceType"], "OperationOutcome"),
        other => panic!("unexpected {other}: {answer}"),
    }
    // The peer logs each request line on stderr, read by another thread: wait for it.
    let expected = format!("GET /fhir/R4/Observation?{raw_date}");
    let logged = || peer.stderr_lines().iter().any(|l| l == &expected);
    for _ in 0..50 {
        if logged() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(logged(), "{:?}", peer.stderr_lines());
    // Encoded correctly by a client, the same search finds all three.
    let resp = a
        .handle(request(
            Method::GET,
            "Observation?date=ge2013-04-05T18:50:00%2B05:30",
        ))
        .await
        .expect("date search");
    assert_eq!(body_json(resp).await["total"], 3);
    let resp = a
        .handle(request(
            Method::GET,
            "Observation?date=lt2013-04-05T18:50:00%2B05:30",
        ))
        .await
        .expect("date search");
    assert_eq!(body_json(resp).await["total"], 0);

    // POST _search with form parameters.
    let mut post = request(Method::POST, "Observation/_search");
    post.query = vec![("code".into(), "http://loinc.org|8867-4".into())];
    let resp = a.handle(post).await.expect("POST _search");
    assert_eq!(body_json(resp).await["total"], 3);
}

#[tokio::test]
async fn batch_transaction_and_conditional_create() {
    let (_peer, base) = Peer::medplum();
    let a = adapter(json!({"base_url": base}));
    let patient = json!({"resourceType": "Patient", "identifier": [{"system": "urn:fhirgate:test", "value": "p-1"}]});

    // conditional create: the second one finds the first
    let conditional = || {
        let mut r = with_json(request(Method::POST, "Patient"), &patient);
        r.headers.insert(
            "if-none-exist",
            HeaderValue::from_static("identifier=urn:fhirgate:test|p-1"),
        );
        r
    };
    let first = a.handle(conditional()).await.expect("create");
    assert_eq!(first.status, StatusCode::CREATED);
    let id = body_json(first).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let second = a.handle(conditional()).await.expect("conditional create");
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(body_json(second).await["id"], id.as_str());

    // transaction with a urn:uuid reference
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:8d6a5b2e-5c1e-4bd4-9d61-6f2c0b1f7a01",
         "resource": {"resourceType": "Patient", "gender": "female"},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "hr"},
                      "subject": {"reference": "urn:uuid:8d6a5b2e-5c1e-4bd4-9d61-6f2c0b1f7a01"}},
         "request": {"method": "POST", "url": "Observation"}}]});
    let mut req = with_json(request(Method::POST, ""), &tx);
    req.interaction = fhirgate_adapters::Interaction::Transaction;
    let resp = a.handle(req).await.expect("transaction");
    assert_eq!(resp.status, StatusCode::OK);
    let out = body_json(resp).await;
    assert_eq!(out["type"], "transaction-response");
    let entries = out["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    let pid = entries[0]["resource"]["id"].as_str().expect("patient id");
    assert!(
        entries[0]["response"]["location"]
            .as_str()
            .expect("location")
            .starts_with(&format!("{PUBLIC_BASE}/Patient/{pid}"))
    );
    assert_eq!(
        entries[0]["fullUrl"],
        format!("{PUBLIC_BASE}/Patient/{pid}").as_str()
    );
    assert_eq!(
        entries[1]["resource"]["subject"]["reference"],
        format!("Patient/{pid}").as_str()
    );
    assert!(
        entries[1]["response"]["location"]
            .as_str()
            .expect("location")
            .starts_with(&format!("{PUBLIC_BASE}/Observation/"))
    );

    // batch with a nested search: the searchset inside the batch-response is rewritten too
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "male"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": format!("Patient?_id={id}")}}]});
    let resp = a
        .handle(with_json(request(Method::POST, ""), &batch))
        .await
        .expect("batch");
    assert_eq!(resp.status, StatusCode::OK);
    let out = body_json(resp).await;
    assert_eq!(out["type"], "batch-response");
    assert!(
        out["entry"][0]["response"]["location"]
            .as_str()
            .expect("location")
            .starts_with(&format!("{PUBLIC_BASE}/Patient/"))
    );
    let nested = &out["entry"][1]["resource"];
    assert_eq!(nested["type"], "searchset");
    assert_eq!(
        nested["entry"][0]["fullUrl"],
        format!("{PUBLIC_BASE}/Patient/{id}").as_str()
    );
    assert!(
        !out.to_string().contains(&base),
        "no upstream URL left: {out}"
    );
}

#[tokio::test]
async fn binary_streams_through() {
    let (_peer, base) = Peer::medplum();
    // Small threshold: the JSON read of the Binary resource streams too.
    let a = adapter(json!({"base_url": base, "stream_threshold_bytes": 4096}));
    let payload: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut create = request(Method::POST, "Binary");
    create.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    create.body = payload.clone().into();
    let resp = a.handle(create).await.expect("create Binary");
    assert_eq!(resp.status, StatusCode::CREATED);
    let location = header(&resp, "location").expect("Location").to_owned();
    let id = body_json(resp).await["id"].as_str().expect("id").to_owned();
    assert!(location.starts_with(&format!("{PUBLIC_BASE}/Binary/{id}")));

    let mut read = request(Method::GET, &format!("Binary/{id}"));
    read.headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/octet-stream"),
    );
    let resp = a.handle(read).await.expect("read Binary");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        header(&resp, "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(header(&resp, "content-length"), Some("2097152"));
    assert!(matches!(resp.body, ResponseBody::Stream(_)));
    assert_eq!(body_bytes(resp).await, payload);

    let mut read_json = request(Method::GET, &format!("Binary/{id}"));
    read_json.headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/fhir+json"),
    );
    let resp = a.handle(read_json).await.expect("read Binary as JSON");
    assert!(matches!(resp.body, ResponseBody::Stream(_)));
    let value = body_json(resp).await;
    assert_eq!(value["resourceType"], "Binary");
    assert_eq!(value["contentType"], "application/octet-stream");
}
