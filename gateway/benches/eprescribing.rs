//! NewRx end to end (issue 7 item 6): `POST /fhir/MedicationRequest` → NewRx through the
//! outbox → delivered to the sandbox pharmacy → its Status 010 mapped back onto the fulfill
//! Task (`received`). Prints p50/p99/max of that latency for sequential prescriptions, the
//! latency of the POST alone, and sustained prescriptions/s with concurrent clients.
//! Run: `cargo bench -p fhirgate --bench eprescribing [-- SEQUENTIAL SECONDS CLIENTS]`.
//!
//! The real `fhirgate` binary on loopback with fsync on: the store and the outbox on SQLite
//! with `synchronous=FULL`, the audit log fsynced (shipped defaults); rate limits off; the
//! sandbox pharmacy's RxFill delayed past the run so fills do not mix into the figures.
//! Target: end-to-end p99 ≤ 20 ms. On the critical path are four fsynced commits in series
//! (outbox accept, store transaction of MedicationRequest + Task, the sandbox pharmacy's
//! ledger, the Task update), so the figure printed first — this disk's fsync latency — is
//! the floor to read the others against.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_fhirgate");

fn config_yaml() -> String {
    r#"server:
  listen: 127.0.0.1:0
auth:
  audiences: [http://fhirgate.bench/fhir]
  sandbox:
    enabled: true
    issuer: http://fhirgate.bench/sandbox/auth
    clients: []
rate_limits:
  enabled: false
adapters:
  store:
    kind: store
    url: sqlite://store.db
  sandbox-pharmacy:
    kind: sandbox-pharmacy
    delay_seconds: 3600
  pharmacy:
    kind: ncpdp
    store: store
    pharmacies:
      - ncpdp_id: "9999999"
        endpoint: /sandbox/pharmacy/script
        credential_file: sandbox-pharmacy.secret
        inbound_credential_file: sandbox-pharmacy.secret
routes:
  - resources: [MedicationRequest]
    interactions: [create, update]
    adapters: [pharmacy]
  - resources: ["*"]
    adapters: [store]
"#
    .to_owned()
}

struct Server {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Server {
    let config = dir.join("gateway.yaml");
    std::fs::write(&config, config_yaml()).expect("config");
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("FHIRGATE_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fhirgate");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let url = line
        .trim()
        .strip_prefix("fhirgate listening on ")
        .expect("ready line")
        .to_owned();
    let out = Command::new(BIN)
        .args(["token", "--scope", "system/*.*", "--config"])
        .arg(&config)
        .env("FHIRGATE_DATA_DIR", dir.join("data"))
        .output()
        .expect("token");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Server { child, url, token }
}

fn prescription(n: usize) -> Value {
    let bundle: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../adapters/seed/sandbox.json"
        ))
        .expect("sandbox bundle"),
    )
    .expect("json");
    let mut mr = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["resource"].clone())
        .find(|r| r["resourceType"] == "MedicationRequest")
        .expect("MedicationRequest");
    mr.as_object_mut().expect("object").remove("id");
    mr["identifier"] = json!([{"system": "https://fhirgate.bench/rx",
                               "value": format!("bench-{}-{n}", std::process::id())}]);
    mr
}

/// POSTs one prescription; returns its id and the POST's latency.
async fn post(client: &reqwest::Client, s: &Server, n: usize) -> (String, Duration) {
    let body = prescription(n).to_string();
    let t = Instant::now();
    let r = client
        .post(format!("{}/fhir/MedicationRequest", s.url))
        .bearer_auth(&s.token)
        .header("content-type", "application/fhir+json")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 201, "POST MedicationRequest");
    let v: Value = r.json().await.expect("json");
    (v["id"].as_str().expect("id").to_owned(), t.elapsed())
}

/// Polls (every millisecond) until the fulfill Task of `id` is `received`.
async fn wait_received(client: &reqwest::Client, s: &Server, id: &str) {
    let url = format!(
        "{}/fhir/Task?focus=MedicationRequest/{id}&status=received",
        s.url
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let b: Value = client
            .get(&url)
            .bearer_auth(&s.token)
            .header("cache-control", "no-cache")
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("json");
        if b["entry"].as_array().is_some_and(|e| !e.is_empty()) {
            return;
        }
        assert!(Instant::now() < deadline, "NewRx {id} never acknowledged");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// fsync latency of this machine's disk in the data dir (the floor under every commit).
fn fsync_baseline(dir: &std::path::Path) -> Vec<Duration> {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).expect("probe");
    let mut out = Vec::with_capacity(200);
    for _ in 0..200 {
        f.write_all(&[b'x'; 128]).expect("write");
        let t = Instant::now();
        f.sync_data().expect("fsync");
        out.push(t.elapsed());
    }
    let _ = std::fs::remove_file(path);
    out
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn report(label: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{label}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.9),
        percentile(&v, 0.99),
        percentile(&v, 1.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sequential = args.first().copied().unwrap_or(300);
    let seconds = args.get(1).copied().unwrap_or(10);
    let clients = args.get(2).copied().unwrap_or(16);
    let dir = tempfile::tempdir().expect("tempdir");
    report("fsync of the data dir's disk", fsync_baseline(dir.path()));
    let s = Arc::new(start(dir.path()));
    let client = reqwest::Client::new();
    // Warm up: connections, caches, SQLite pages.
    for n in 0..20 {
        let (id, _) = post(&client, &s, 1_000_000 + n).await;
        wait_received(&client, &s, &id).await;
    }
    let mut end_to_end = Vec::with_capacity(sequential);
    let mut posts = Vec::with_capacity(sequential);
    for n in 0..sequential {
        let t = Instant::now();
        let (id, post_latency) = post(&client, &s, n).await;
        wait_received(&client, &s, &id).await;
        end_to_end.push(t.elapsed());
        posts.push(post_latency);
    }
    println!("NewRx end to end, sequential (POST → delivered → Status 010 on the Task):");
    report("  end to end", end_to_end);
    report("  POST 201  ", posts);

    // Sustained: `clients` concurrent writers for `seconds`, then until all are delivered.
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let stop = start + Duration::from_secs(seconds as u64);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (s, client, done) = (s.clone(), client.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut n = 0;
            while Instant::now() < stop {
                let (id, _) = post(&client, &s, 2_000_000 + c * 1_000_000 + n).await;
                ids.push(id);
                n += 1;
            }
            for id in &ids {
                wait_received(&client, &s, id).await;
            }
            done.fetch_add(ids.len(), Ordering::SeqCst);
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = done.load(Ordering::SeqCst);
    println!(
        "sustained: {total} prescriptions accepted and acknowledged by the pharmacy in {elapsed:.1} s \
         with {clients} clients = {:.0} prescriptions/s",
        total as f64 / elapsed
    );
}
