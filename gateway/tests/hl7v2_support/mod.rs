//! MLLP helpers shared by the HL7 v2 integration tests: framing, reading ER7 fields, sending
//! a message to the gateway's listener, a peer that ACKs AA, and FHIR reads.

#![allow(dead_code)]

pub mod derive;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Gateway, auth_section};

/// A gateway config with the embedded store and an `ehr-v2` HL7 v2 adapter listening on a
/// free port and sending to `peer_port` (timezone America/New_York).
pub fn merge_config(peer_port: u16) -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    format!(
        "server:\n  listen: 127.0.0.1:0\n{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\n  ehr-v2:\n    kind: hl7v2\n    store: store\n    send:\n      host: 127.0.0.1\n      port: {peer_port}\n      connect_timeout_ms: 500\n      ack_timeout_ms: 3000\n    listen:\n      address: 127.0.0.1:0\n    timezone: America/New_York\n    retry:\n      initial_ms: 100\n      max_ms: 400\nroutes:\n  - resources: [\"*\"]\n    interactions: [\"*\"]\n    adapters: [store]\n"
    )
}

/// Reads one MLLP frame (0x0B … 0x1C 0x0D) from `stream`.
pub async fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
        if buf.ends_with(&[0x1C, 0x0D]) {
            let start = buf.iter().position(|&b| b == 0x0B)?;
            return Some(buf[start + 1..buf.len() - 2].to_vec());
        }
    }
}

/// `message` in an MLLP frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0B];
    out.extend_from_slice(message);
    out.extend_from_slice(&[0x1C, 0x0D]);
    out
}

/// Field `n` of segment `seg` (MSH counted so that MSH-9 is `field(m, "MSH", 9)`).
pub fn field(message: &str, seg: &str, n: usize) -> String {
    let line = message
        .split('\r')
        .find(|l| l.starts_with(&format!("{seg}|")))
        .unwrap_or_else(|| panic!("no {seg} in {message:?}"));
    let idx = if seg == "MSH" { n - 1 } else { n };
    line.split('|').nth(idx).unwrap_or("").to_owned()
}

/// Sends `message` to the listener at `addr` and returns the ACK.
pub async fn send(addr: &str, message: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect listener");
    s.write_all(&frame(message)).await.expect("send frame");
    let answer = tokio::time::timeout(Duration::from_secs(20), read_frame(&mut s))
        .await
        .expect("ACK in time")
        .expect("an ACK frame");
    String::from_utf8(answer).expect("utf-8 ACK")
}

/// The bound address of the `ehr-v2` adapter's listener.
pub fn listener_addr(gw: &Gateway) -> String {
    std::fs::read_to_string(gw.dir.path().join("data/hl7v2-ehr-v2.addr")).expect("addr file")
}

/// An MLLP peer ACKing every message AA; returns what it received.
pub async fn peer(listener: TcpListener) -> Arc<Mutex<Vec<String>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                while let Some(m) = read_frame(&mut s).await {
                    let text = String::from_utf8_lossy(&m).into_owned();
                    let cid = field(&text, "MSH", 10);
                    seen.lock().expect("lock").push(text);
                    let ack = format!(
                        "MSH|^~\\&|TESTEHR||FHIRGATE||20260101120000||ACK^S12^ACK|A{cid}|P|2.5.1\rMSA|AA|{cid}\r"
                    );
                    let _ = s.write_all(&frame(ack.as_bytes())).await;
                }
            });
        }
    });
    got
}

/// Waits up to `secs` seconds until `got` holds `n` messages; what it holds then.
pub async fn wait_for(got: &Arc<Mutex<Vec<String>>>, n: usize, secs: u64) -> Vec<String> {
    for _ in 0..secs * 10 {
        if got.lock().expect("lock").len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    got.lock().expect("lock").clone()
}

/// The resources of a search (`query` like `/Patient?identifier=151`).
pub async fn search(gw: &Gateway, query: &str) -> Vec<Value> {
    let b: Value = gw
        .system_client()
        .get(gw.fhir(query))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("search JSON");
    b["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["search"]["mode"] != "outcome")
        .map(|e| e["resource"].clone())
        .collect()
}

/// `PUT path` with `body` as FHIR JSON; the status and the answer.
pub async fn put(gw: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    let r = gw
        .system_client()
        .put(gw.fhir(path))
        .header("content-type", "application/fhir+json")
        .json(body)
        .send()
        .await
        .expect("put");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// `GET path`; the status and the answer.
pub async fn get(gw: &Gateway, path: &str) -> (u16, Value) {
    let r = gw
        .system_client()
        .get(gw.fhir(path))
        .send()
        .await
        .expect("get");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}
