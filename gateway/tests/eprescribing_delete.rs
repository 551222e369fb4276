//! DELETE of a prescription sent to a pharmacy (issue 7: "never lost, never filled twice"):
//! an order in force answers 409 and stays; once cancelled (CancelRx sent) it may be deleted.

mod eprescribing_support;
mod support;

use eprescribing_support::*;
use serde_json::Value;
use support::Gateway;

#[tokio::test]
async fn an_active_order_cannot_be_deleted_until_it_is_cancelled() {
    let gw = Gateway::start(&config(&Options {
        delay_seconds: 30.0,
        ..Options::default()
    }));
    let client = gw.system_client();
    let (status, created) =
        post_mr(&client, &gw, &sandbox_medication_request(&unique("del"))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let url = gw.fhir(&format!("/MedicationRequest/{id}"));
    let r = client.delete(&url).send().await.expect("DELETE");
    assert_eq!(r.status(), 409);
    let oo: Value = r.json().await.expect("json");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("cancel it"),
        "{oo}"
    );
    let r = client.get(&url).send().await.expect("GET");
    assert_eq!(r.status(), 200, "the order is still there");
    let mut cancelled = created.clone();
    cancelled["status"] = "cancelled".into();
    let r = client
        .put(&url)
        .header("content-type", "application/fhir+json")
        .body(cancelled.to_string())
        .send()
        .await
        .expect("PUT cancelled");
    assert!(r.status().is_success(), "{}", r.status());
    let r = client.delete(&url).send().await.expect("DELETE");
    assert_eq!(r.status(), 204);
    let r = client.get(&url).send().await.expect("GET");
    assert_eq!(r.status(), 410);
}
