//! Inbound SCRIPT on `POST /ncpdp/script` (issue 7): pharmacies authenticate with their own
//! credential (401 with a SCRIPT Error otherwise), a repeated MessageID gets the same answer
//! and writes nothing twice, messages we cannot accept get Error 900; and a cancellation
//! after the NewRx becomes a CancelRx the pharmacy approves.

mod eprescribing_support;
mod support;

use eprescribing_support::*;
use support::{Gateway, fixture};

/// The RxFill fixture re-addressed to answer NewRx `relates_to` with MessageID `message_id`.
fn rx_fill(message_id: &str, relates_to: &str, order: &str) -> String {
    String::from_utf8(fixture(
        "ncpdp-script/fhirgate-RxFill_2017071_dispensed.xml",
    ))
    .expect("utf-8")
    .replace("FHIRGATE-TEST-FILL-0001", message_id)
    .replace("SYNTH-MSG-0001", relates_to)
    .replace("SYNTH-ORDER-0001", order)
}

async fn post_script(gw: &Gateway, auth: Option<String>, body: &str) -> (u16, String) {
    let mut req = support::client()
        .post(format!("{}/ncpdp/script", gw.url))
        .header("content-type", "application/xml")
        .body(body.to_owned());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.expect("POST /ncpdp/script");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test]
async fn inbound_messages_need_the_pharmacys_credential_and_a_repeat_is_answered_the_same() {
    // The sandbox's own RxFill never comes (delay of an hour): the test is the pharmacy.
    let gw = Gateway::start(&config(&Options {
        delay_seconds: 3600.0,
        ..Options::default()
    }));
    let client = gw.system_client();
    let mr = sandbox_medication_request(&unique("inbound"));
    let (status, created) = post_mr(&client, &gw, &mr).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let task = wait_task(&client, &gw, &id, "fulfill", "received", 20).await;
    let new_rx_id = task["identifier"][0]["value"]
        .as_str()
        .expect("MessageID")
        .to_owned();
    let fill = rx_fill("FILL-REPEAT-0001", &new_rx_id, &id);

    // No credential, a wrong one, an unknown pharmacy: 401 with a SCRIPT Error.
    let wrong = {
        use base64::Engine;
        let raw = format!("{PHARMACY}:not-the-secret");
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    };
    for auth in [None, wrong, Some(basic(&gw, "1234567"))] {
        let (status, body) = post_script(&gw, auth, &fill).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            body.contains("<Error>") && body.contains("<Code>900</Code>"),
            "{body}"
        );
    }
    assert!(
        dispenses(&client, &gw, &id).await.is_empty(),
        "nothing written"
    );

    // The pharmacy's credential: Status 010, MedicationDispense and Task completed.
    let (status, first) = post_script(&gw, Some(basic(&gw, PHARMACY)), &fill).await;
    assert_eq!(status, 200, "{first}");
    assert!(
        first.contains("<Status>") && first.contains("<Code>010</Code>"),
        "{first}"
    );
    assert!(first.contains("<RelatesToMessageID>FILL-REPEAT-0001</RelatesToMessageID>"));
    let done = wait_task(&client, &gw, &id, "fulfill", "completed", 10).await;
    assert_eq!(
        done["businessStatus"]["coding"][0]["code"],
        "rxfill-dispensed"
    );
    let d = dispenses(&client, &gw, &id).await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["status"], "completed");
    assert_eq!(
        d[0]["whenHandedOver"].as_str().map(|s| &s[..4]),
        Some("2026")
    );

    // The same MessageID again: the same answer, byte for byte, and no second dispense.
    let (status, second) = post_script(&gw, Some(basic(&gw, PHARMACY)), &fill).await;
    assert_eq!((status, &second), (200, &first));
    let versions: serde_json::Value = client
        .get(gw.fhir(&format!(
            "/MedicationDispense/{}/_history",
            d[0]["id"].as_str().expect("id")
        )))
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(
        versions["entry"].as_array().map(Vec::len),
        Some(1),
        "written once"
    );
    assert_eq!(dispenses(&client, &gw, &id).await.len(), 1);

    // Not SCRIPT, or answering nothing we sent: Error 900, nothing written.
    let (status, body) = post_script(&gw, Some(basic(&gw, PHARMACY)), "<Message>").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>900</Code>"), "{body}");
    let stray = rx_fill("FILL-STRAY-0001", "NEVER-SENT", "no-such-order");
    let (status, body) = post_script(&gw, Some(basic(&gw, PHARMACY)), &stray).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>900</Code>") && body.contains("matches"),
        "{body}"
    );
}

#[tokio::test]
async fn cancelling_after_the_new_rx_sends_cancel_rx_and_the_pharmacy_approves() {
    let gw = Gateway::start(&config(&Options {
        delay_seconds: 3.0,
        ..Options::default()
    }));
    let client = gw.system_client();
    let mr = sandbox_medication_request(&unique("cancel"));
    let (status, created) = post_mr(&client, &gw, &mr).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    wait_task(&client, &gw, &id, "fulfill", "received", 20).await;
    let mut cancelled = created.clone();
    cancelled["status"] = "cancelled".into();
    cancelled["statusReason"] = serde_json::json!({"text": "patient request"});
    let r = client
        .put(gw.fhir(&format!("/MedicationRequest/{id}")))
        .header("content-type", "application/fhir+json")
        .body(cancelled.to_string())
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status(), 200);
    let stored: serde_json::Value = r.json().await.expect("json");
    assert_eq!(stored["status"], "cancelled");
    // CancelRx delivered (Status 010), then CancelRxResponse Approved after the delay.
    let abort = wait_task(&client, &gw, &id, "abort", "completed", 20).await;
    assert_eq!(
        abort["businessStatus"]["coding"][0]["code"], "cancelrxresponse-approved",
        "{abort}"
    );
    let fulfill = wait_task(&client, &gw, &id, "fulfill", "cancelled", 10).await;
    assert_eq!(fulfill["status"], "cancelled");
    let s = stats(&gw).await;
    assert_eq!(
        (
            s["distinct_new_rx"].as_u64(),
            s["distinct_cancel_rx"].as_u64()
        ),
        (Some(1), Some(1)),
        "{s}"
    );
    // The fill was owed when the cancellation arrived: it is never sent.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert!(dispenses(&client, &gw, &id).await.is_empty());
    // Cancelling again sends nothing new.
    let r = client
        .put(gw.fhir(&format!("/MedicationRequest/{id}")))
        .header("content-type", "application/fhir+json")
        .body(cancelled.to_string())
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(stats(&gw).await["distinct_cancel_rx"], 1);
    assert_eq!(tasks(&client, &gw, &id, "abort").await.len(), 1);
}
