//! The durable outbox on SQLite and PostgreSQL: dedupe keys, two-phase acceptance, leased
//! claims that never hand one message to two claimers, retries with backoff keeping the
//! message id, permanent failures, giving up, survival across a reopen, and the inbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fhirgate_adapters::AdapterError;
use fhirgate_adapters::outbox::{
    Backoff, Deliver, Delivery, Dispatcher, Enqueued, Inbox, Message, MessageState, NewMessage,
    Outbox, OutboxConfig, RetryConfig,
};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("fg_outbox"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn sqlite() -> (OutboxConfig, std::path::PathBuf) {
    (OutboxConfig::default(), temp_dir())
}

fn postgres() -> (OutboxConfig, std::path::PathBuf) {
    let config = OutboxConfig {
        url: PG_URL.into(),
        table_prefix: Some(unique("fgob")),
        ..OutboxConfig::default()
    };
    (config, temp_dir())
}

fn message(key: &str, state: MessageState) -> NewMessage {
    NewMessage {
        dedupe_key: key.into(),
        message_id: uuid::Uuid::new_v4().to_string(),
        destination: "9999999".into(),
        kind: "NewRx".into(),
        payload: format!("<Message>{key}</Message>"),
        context: "{}".into(),
        state,
    }
}

fn fast_retry() -> Backoff {
    Backoff::new(RetryConfig {
        initial_ms: 10,
        max_ms: 40,
        multiplier: 2.0,
        jitter: true,
        max_attempts: 0,
        max_age_seconds: 0,
    })
}

/// Fails the first `fail_first` attempts of every message transiently (or permanently for
/// destination `refuse`), then delivers; records every (message id, payload) attempt.
#[derive(Default)]
struct Recorder {
    fail_first: u32,
    attempts: Mutex<Vec<(String, String)>>,
    gave_up: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Deliver for Recorder {
    async fn deliver(&self, m: &Message) -> Delivery {
        self.attempts
            .lock()
            .expect("lock")
            .push((m.message_id.clone(), m.payload.clone()));
        if m.destination == "refuse" {
            return Delivery::Failed {
                reason: "Error 601".into(),
                result: "<Error/>".into(),
            };
        }
        if m.attempts <= self.fail_first {
            Delivery::Retry {
                reason: format!("connection refused (attempt {})", m.attempts),
            }
        } else {
            Delivery::Delivered {
                result: format!("Status 010 for {}", m.message_id),
            }
        }
    }

    async fn give_up(&self, m: &Message, _reason: &str) -> Result<(), AdapterError> {
        self.gave_up
            .lock()
            .expect("lock")
            .push(m.message_id.clone());
        Ok(())
    }
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn dedupe_and_two_phase(config: OutboxConfig, dir: std::path::PathBuf) {
    let outbox = Outbox::open("pharmacy", &config, &dir).await.expect("open");
    let first = message("NewRx:mr-1", MessageState::PendingStore);
    let Enqueued::New(stored) = outbox.enqueue(first.clone()).await.expect("enqueue") else {
        panic!("first enqueue stores")
    };
    assert_eq!(stored.state, MessageState::PendingStore);
    assert_eq!(stored.message_id, first.message_id);
    // The same dedupe key again (a client retry) returns the stored message and its id.
    let mut again = message("NewRx:mr-1", MessageState::Ready);
    again.payload = "<different/>".into();
    let Enqueued::Existing(existing) = outbox.enqueue(again).await.expect("enqueue") else {
        panic!("second enqueue finds the first")
    };
    assert_eq!(existing.seq, stored.seq);
    assert_eq!(existing.message_id, first.message_id);
    assert_eq!(existing.payload, "<Message>NewRx:mr-1</Message>");
    // pending-store is never claimed; recovery lists it.
    assert!(
        outbox
            .claim(10, Duration::from_secs(5))
            .await
            .expect("claim")
            .is_empty()
    );
    let pending = outbox.pending_store().await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].dedupe_key, "NewRx:mr-1");
    outbox.mark_ready(stored.seq).await.expect("ready");
    let claimed = outbox
        .claim(10, Duration::from_secs(5))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].message_id, first.message_id);
    // Leased: a second claim gets nothing until the lease ends or an outcome is recorded.
    assert!(
        outbox
            .claim(10, Duration::from_secs(5))
            .await
            .expect("claim")
            .is_empty()
    );
    outbox
        .delivered(&claimed[0], "<Status/>")
        .await
        .expect("delivered");
    let done = outbox.get("NewRx:mr-1").await.expect("get").expect("row");
    assert_eq!(done.state, MessageState::Delivered);
    assert_eq!(done.result, "<Status/>");
    let by_id = outbox
        .find_by_message_id(&first.message_id)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(by_id.seq, stored.seq);
    // An abandoned pending-store message (the client got an error) is gone.
    let Enqueued::New(other) = outbox
        .enqueue(message("NewRx:mr-2", MessageState::PendingStore))
        .await
        .expect("enqueue")
    else {
        panic!("new")
    };
    outbox.abandon(other.seq).await.expect("abandon");
    assert!(outbox.get("NewRx:mr-2").await.expect("get").is_none());
    let counts = outbox.counts().await.expect("counts");
    assert_eq!(
        (counts.delivered, counts.ready, counts.pending_store),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn sqlite_dedupe_and_two_phase_acceptance() {
    let (config, dir) = sqlite();
    dedupe_and_two_phase(config, dir).await;
}

#[tokio::test]
async fn postgres_dedupe_and_two_phase_acceptance() {
    let (config, dir) = postgres();
    dedupe_and_two_phase(config, dir).await;
}

async fn retries_keep_the_message_id(config: OutboxConfig, dir: std::path::PathBuf) {
    let outbox = Outbox::open("pharmacy", &config, &dir).await.expect("open");
    let recorder = Arc::new(Recorder {
        fail_first: 3,
        ..Recorder::default()
    });
    let _dispatcher = Dispatcher::spawn(
        outbox.clone(),
        recorder.clone(),
        fast_retry(),
        4,
        Duration::from_secs(5),
    );
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = message(&format!("NewRx:{i}"), MessageState::Ready);
        ids.push(m.message_id.clone());
        outbox.enqueue(m).await.expect("enqueue");
    }
    let mut refused = message("NewRx:refused", MessageState::Ready);
    refused.destination = "refuse".into();
    outbox.enqueue(refused.clone()).await.expect("enqueue");
    wait_until("all settled", async || {
        let c = outbox.counts().await.expect("counts");
        c.delivered == 5 && c.failed == 1
    })
    .await;
    let attempts = recorder.attempts.lock().expect("lock").clone();
    let mut per_id: HashMap<String, Vec<String>> = HashMap::new();
    for (id, payload) in attempts {
        per_id.entry(id).or_default().push(payload);
    }
    for (i, id) in ids.iter().enumerate() {
        let payloads = &per_id[id];
        assert_eq!(payloads.len(), 4, "3 transient failures then delivered");
        assert!(
            payloads
                .iter()
                .all(|p| *p == format!("<Message>NewRx:{i}</Message>"))
        );
        let row = outbox
            .get(&format!("NewRx:{i}"))
            .await
            .expect("get")
            .expect("row");
        assert_eq!(row.attempts, 4);
        assert_eq!(row.result, format!("Status 010 for {id}"));
    }
    assert_eq!(
        per_id[&refused.message_id].len(),
        1,
        "refusals are not retried"
    );
    let failed = outbox
        .get("NewRx:refused")
        .await
        .expect("get")
        .expect("row");
    assert_eq!(failed.state, MessageState::Failed);
    assert_eq!(failed.last_error, "Error 601");
    assert_eq!(failed.result, "<Error/>");
}

#[tokio::test]
async fn sqlite_retries_with_backoff_keep_the_message_id() {
    let (config, dir) = sqlite();
    retries_keep_the_message_id(config, dir).await;
}

#[tokio::test]
async fn postgres_retries_with_backoff_keep_the_message_id() {
    let (config, dir) = postgres();
    retries_keep_the_message_id(config, dir).await;
}

#[tokio::test]
async fn retries_stop_at_max_attempts_and_the_adapter_is_told() {
    let (config, dir) = sqlite();
    let outbox = Outbox::open("pharmacy", &config, &dir).await.expect("open");
    let recorder = Arc::new(Recorder {
        fail_first: u32::MAX,
        ..Recorder::default()
    });
    let backoff = Backoff::new(RetryConfig {
        initial_ms: 5,
        max_ms: 10,
        max_attempts: 3,
        ..RetryConfig::default()
    });
    let _d = Dispatcher::spawn(
        outbox.clone(),
        recorder.clone(),
        backoff,
        2,
        Duration::from_secs(5),
    );
    let m = message("NewRx:never", MessageState::Ready);
    outbox.enqueue(m.clone()).await.expect("enqueue");
    wait_until("failed", async || {
        outbox.counts().await.expect("counts").failed == 1
    })
    .await;
    let row = outbox.get("NewRx:never").await.expect("get").expect("row");
    assert_eq!(row.attempts, 3);
    assert!(
        row.last_error
            .starts_with("gave up after 3 attempts: connection refused"),
        "{}",
        row.last_error
    );
    assert_eq!(*recorder.gave_up.lock().expect("lock"), vec![m.message_id]);
    assert_eq!(recorder.attempts.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn sqlite_messages_survive_a_reopen_and_expired_leases_are_claimed_again() {
    let (config, dir) = sqlite();
    let seq = {
        let outbox = Outbox::open("pharmacy", &config, &dir).await.expect("open");
        let Enqueued::New(m) = outbox
            .enqueue(message("NewRx:durable", MessageState::Ready))
            .await
            .expect("enqueue")
        else {
            panic!("new")
        };
        // Claimed by a process that then dies without recording an outcome.
        let claimed = outbox
            .claim(1, Duration::from_millis(300))
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        m.seq
    };
    let reopened = Outbox::open("pharmacy", &config, &dir)
        .await
        .expect("reopen");
    assert!(
        reopened
            .claim(1, Duration::from_secs(5))
            .await
            .expect("claim")
            .is_empty(),
        "leased by the dead process until the lease ends"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = reopened
        .claim(1, Duration::from_secs(5))
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].seq, seq);
    assert_eq!(again[0].attempts, 2);
}

async fn concurrent_claimers_never_share(config: OutboxConfig, dir: std::path::PathBuf) {
    let a = Outbox::open("pharmacy", &config, &dir)
        .await
        .expect("open a");
    let b = Outbox::open("pharmacy", &config, &dir)
        .await
        .expect("open b");
    for i in 0..200 {
        a.enqueue(message(&format!("k{i}"), MessageState::Ready))
            .await
            .expect("enqueue");
    }
    let claim_all = |o: Arc<Outbox>| async move {
        let mut got = Vec::new();
        loop {
            let batch = o.claim(7, Duration::from_secs(30)).await.expect("claim");
            if batch.is_empty() {
                break got;
            }
            got.extend(batch.into_iter().map(|m| m.seq));
        }
    };
    let (x, y) = tokio::join!(
        tokio::spawn(claim_all(a.clone())),
        tokio::spawn(claim_all(b.clone()))
    );
    let (x, y) = (x.expect("a"), y.expect("b"));
    let mut all: Vec<i64> = x.iter().chain(y.iter()).copied().collect();
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(
        before,
        200,
        "every message claimed once: {} + {}",
        x.len(),
        y.len()
    );
    assert_eq!(all.len(), 200);
}

#[tokio::test]
async fn sqlite_concurrent_claimers_never_share_a_message() {
    let (config, dir) = sqlite();
    concurrent_claimers_never_share(config, dir).await;
}

#[tokio::test]
async fn postgres_concurrent_claimers_never_share_a_message() {
    let (config, dir) = postgres();
    concurrent_claimers_never_share(config, dir).await;
}

#[tokio::test]
async fn the_inbox_keeps_the_first_answer_per_source_and_message_id() {
    let (config, dir) = sqlite();
    let outbox = Outbox::open("pharmacy", &config, &dir).await.expect("open");
    let inbox = Inbox::of(&outbox);
    assert_eq!(inbox.answer("9999999", "m1").await.expect("answer"), None);
    let first = inbox
        .record("9999999", "m1", 200, "<Status>010</Status>")
        .await
        .expect("record");
    assert_eq!(first, (200, "<Status>010</Status>".to_owned()));
    let second = inbox
        .record("9999999", "m1", 400, "<Error/>")
        .await
        .expect("record");
    assert_eq!(second, first, "a repeat keeps the first answer");
    assert_eq!(inbox.answer("8888888", "m1").await.expect("answer"), None);
}

#[tokio::test]
async fn a_message_handed_over_directly_is_delivered_without_a_claim_and_retried_when_it_fails() {
    let (config, dir) = sqlite();
    let outbox = Outbox::open("pharmacy", &config, &dir).await.expect("open");
    let recorder = Arc::new(Recorder {
        fail_first: 1,
        ..Recorder::default()
    });
    let dispatcher = Dispatcher::spawn(
        outbox.clone(),
        recorder.clone(),
        fast_retry(),
        4,
        Duration::from_secs(5),
    );
    let Enqueued::New(m) = outbox
        .enqueue(message("NewRx:direct", MessageState::PendingStore))
        .await
        .expect("enqueue")
    else {
        panic!("new")
    };
    // The first (direct) attempt fails transiently: the message becomes ready and the
    // dispatcher's retry delivers it, with the same message id.
    dispatcher.deliver_now(m.clone());
    wait_until("delivered", async || {
        outbox.counts().await.expect("counts").delivered == 1
    })
    .await;
    let row = outbox.get("NewRx:direct").await.expect("get").expect("row");
    assert_eq!(row.attempts, 2);
    assert_eq!(row.result, format!("Status 010 for {}", m.message_id));
    let attempts = recorder.attempts.lock().expect("lock").clone();
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|(id, _)| *id == m.message_id));
    // A direct delivery that succeeds at once goes from pending-store to delivered.
    let Enqueued::New(n) = outbox
        .enqueue(message("NewRx:direct-ok", MessageState::PendingStore))
        .await
        .expect("enqueue")
    else {
        panic!("new")
    };
    let ok = Arc::new(Recorder::default());
    let direct = Dispatcher::spawn(
        outbox.clone(),
        ok.clone(),
        fast_retry(),
        1,
        Duration::from_secs(5),
    );
    direct.deliver_now(n);
    wait_until("delivered", async || {
        outbox.counts().await.expect("counts").delivered == 2
    })
    .await;
    let row = outbox
        .get("NewRx:direct-ok")
        .await
        .expect("get")
        .expect("row");
    assert_eq!((row.state, row.attempts), (MessageState::Delivered, 1));
}
