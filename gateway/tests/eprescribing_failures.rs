//! E-prescribing through failures (issue 7): a pharmacy down for a while, a gateway killed
//! with SIGKILL between accepting a prescription and delivering it, and a pharmacy that
//! refuses with Error 601. The prescription is processed exactly once by the pharmacy —
//! counted as distinct MessageIDs it processed, not POSTs.

mod eprescribing_support;
mod support;

use eprescribing_support::*;
use support::Gateway;

#[tokio::test]
async fn a_pharmacy_down_for_a_while_processes_the_prescription_exactly_once_when_it_returns() {
    let gw = Gateway::start(&config(&Options {
        mode: "down",
        ..Options::default()
    }));
    let client = gw.system_client();
    let mr = sandbox_medication_request(&unique("outage"));
    let (status, created) = post_mr(&client, &gw, &mr).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    // Several refused attempts (HTTP 503, SCRIPT Error 600): retried with backoff.
    let s = wait_stats(&gw, 20, |s| s["refused_down"].as_u64() >= Some(3)).await;
    assert_eq!(s["distinct_new_rx"], 0);
    let waiting = tasks(&client, &gw, &id, "fulfill").await;
    assert_eq!(
        waiting[0]["status"], "requested",
        "still waiting: {waiting:?}"
    );
    set_mode(&gw, "up").await;
    wait_task(&client, &gw, &id, "fulfill", "completed", 30).await;
    let s = stats(&gw).await;
    assert_eq!(s["distinct_new_rx"], 1, "{s}");
    assert_eq!(
        s["new_rx_received"], 1,
        "delivered once after the outage: {s}"
    );
    assert_eq!(s["repeats"], 0, "{s}");
    assert_eq!(dispenses(&client, &gw, &id).await.len(), 1);
    // The outbox counts what happened: refused attempts retried, then one delivery.
    assert_eq!(
        wait_outbox_deliveries(&gw, "NewRx", "delivered", 1.0).await,
        1.0
    );
    assert!(outbox_deliveries(&gw, "NewRx", "retry").await >= 3.0);
    assert_eq!(outbox_deliveries(&gw, "NewRx", "refused").await, 0.0);
}

#[tokio::test]
async fn a_gateway_killed_before_delivery_delivers_once_after_restart() {
    let down = Options {
        mode: "down",
        ..Options::default()
    };
    let gw = Gateway::start(&config(&down));
    let client = gw.system_client();
    let mr = sandbox_medication_request(&unique("sigkill"));
    let (status, created) = post_mr(&client, &gw, &mr).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    wait_stats(&gw, 20, |s| s["refused_down"].as_u64() >= Some(1)).await;
    // SIGKILL: no shutdown, no drain; the accepted NewRx is only in the outbox.
    let dir = gw.kill();
    let gw = Gateway::start_in(&config(&Options::default()), dir);
    let client = gw.system_client();
    wait_task(&client, &gw, &id, "fulfill", "completed", 30).await;
    let s = stats(&gw).await;
    assert_eq!(s["distinct_new_rx"], 1, "{s}");
    assert_eq!(s["new_rx_received"], 1, "{s}");
    // A client retry after the restart finds the same prescription.
    let (again, b) = post_mr(&client, &gw, &mr).await;
    assert_eq!((again, b["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(dispenses(&client, &gw, &id).await.len(), 1);
    assert_eq!(stats(&gw).await["distinct_new_rx"], 1);
}

#[tokio::test]
async fn a_pharmacy_error_601_fails_the_task_with_its_reason_and_is_not_retried() {
    let gw = Gateway::start(&config(&Options {
        mode: "error-601",
        ..Options::default()
    }));
    let client = gw.system_client();
    let mr = sandbox_medication_request(&unique("e601"));
    let (status, created) = post_mr(&client, &gw, &mr).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let task = wait_task(&client, &gw, &id, "fulfill", "failed", 20).await;
    assert_eq!(
        task["businessStatus"]["coding"][0]["code"], "error-601",
        "{task}"
    );
    let reason = task["statusReason"]["text"].as_str().unwrap_or_default();
    assert!(reason.contains("601"), "{task}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let s = stats(&gw).await;
    assert_eq!(s["new_rx_received"], 1, "a final Error is not retried: {s}");
    assert_eq!(s["distinct_new_rx"], 0, "{s}");
    assert_eq!(outbox_deliveries(&gw, "NewRx", "refused").await, 1.0);
    assert_eq!(outbox_deliveries(&gw, "NewRx", "retry").await, 0.0);
    assert_eq!(outbox_deliveries(&gw, "NewRx", "delivered").await, 0.0);
}
