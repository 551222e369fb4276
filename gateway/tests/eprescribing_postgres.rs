//! E-prescribing with the outbox on PostgreSQL (127.0.0.1:5432, database `test`, a fresh
//! table prefix per run): accepted prescriptions are delivered once, client retries send
//! nothing new, and a gateway killed with SIGKILL delivers after restart.

mod eprescribing_support;
mod support;

use eprescribing_support::*;
use support::Gateway;

fn postgres_options(mode: &'static str, prefix: &str) -> Options {
    Options {
        mode,
        outbox: format!(
            "      url: postgres://postgres@127.0.0.1:5432/test\n      table_prefix: {prefix}\n"
        ),
        ..Options::default()
    }
}

#[tokio::test]
async fn postgres_outbox_delivers_once_through_retries_and_a_restart() {
    let prefix = format!("fg_rx_{}", uuid::Uuid::new_v4().simple());
    let gw = Gateway::start(&config(&postgres_options("down", &prefix)));
    let client = gw.system_client();
    let mr = sandbox_medication_request(&unique("pg"));
    let (status, created) = post_mr(&client, &gw, &mr).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let (again, b) = post_mr(&client, &gw, &mr).await;
    assert_eq!((again, b["id"].as_str()), (200, Some(id.as_str())));
    wait_stats(&gw, 20, |s| s["refused_down"].as_u64() >= Some(2)).await;
    let dir = gw.kill();
    let gw = Gateway::start_in(&config(&postgres_options("up", &prefix)), dir);
    let client = gw.system_client();
    wait_task(&client, &gw, &id, "fulfill", "completed", 30).await;
    let s = stats(&gw).await;
    assert_eq!(s["distinct_new_rx"], 1, "{s}");
    assert_eq!(s["new_rx_received"], 1, "{s}");
    assert_eq!(dispenses(&client, &gw, &id).await.len(), 1);
    // A second prescription on the running gateway goes straight through.
    let (status, other) = post_mr(&client, &gw, &sandbox_medication_request(&unique("pg2"))).await;
    assert_eq!(status, 201, "{other}");
    let other_id = other["id"].as_str().expect("id");
    wait_task(&client, &gw, other_id, "fulfill", "completed", 30).await;
    assert_eq!(stats(&gw).await["distinct_new_rx"], 2);
}
