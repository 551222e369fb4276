//! Inbound: the MLLP listener. Each frame is parsed, mapped to FHIR and written to the store
//! as one transaction Bundle; the ACK (HL7 v2.5.1 §2.9.2 original mode) is sent only after
//! the write committed.
//!
//! - AA: written (or a repeat of an MSH-10 already accepted from the same MSH-3/MSH-4: the
//!   recorded ACK is sent again and nothing is written twice).
//! - AE: the message maps but cannot be written as is (mapping error, store refusal, an SIU
//!   update event without SCH-1/SCH-2: see [`merge::Plan`]): MSA-3 and ERR-8 carry the
//!   reason. Nothing is written (one transaction).
//! - AR: unparseable, no MSH-10, a message type fhirgate does not map, or the store
//!   unavailable ("reasons unrelated to content", §2.9.2.2): the sender may retry.
//!
//! Writes: every resource is a conditional create (`ifNoneExist` from its identifier), except
//! the focus of an update event (SIU S13/S14/S15/S26, ADT A08/A31/A03…) and the Patient of
//! an ADT or SIU message, whatever its event ([`merge::Plan`]): those are merged field by
//! field into the stored resource found by their identifier (v2 "snapshot" semantics:
//! present replaces, empty keeps, `""` deletes; see [`super::merge`]) and written with `If-Match` its version, so a concurrent FHIR update
//! is never overwritten (a 412 merges again, up to 3 times, then AR). When none matches they
//! are created. A resource without an identifier is created.

use std::net::SocketAddr;
use std::sync::Arc;

use fhirgate_mappings::hl7v2::{AckCode, Message, ack, message_to_fhir, parse};
use http::{Method, StatusCode};
use tokio::net::{TcpListener, TcpStream};

use super::merge::{self, Refusal};
use super::mllp::{FrameReader, write_frame};
use super::store::Core;

/// Message codes [`message_to_fhir`] maps (others are answered AR).
const MAPPED: &[&str] = &["SIU", "ADT", "ORU", "ORM", "OMG", "OML", "RDE"];
/// Binds `address`, logs the bound address and writes it to `hl7v2-<adapter>.addr` in
/// `data_dir`, then serves connections until the returned task is aborted.
///
/// Errors: the address cannot be bound or the file written.
pub(crate) async fn listen(
    core: Arc<Core>,
    address: &str,
    data_dir: &std::path::Path,
) -> std::io::Result<(SocketAddr, tokio::task::AbortHandle)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    std::fs::write(
        data_dir.join(format!("hl7v2-{}.addr", core.name)),
        bound.to_string(),
    )?;
    tracing::info!(adapter = %core.name, address = %bound, "HL7 v2 MLLP listener bound");
    let allowed = core
        .config
        .listen
        .as_ref()
        .map(|l| l.allowed())
        .unwrap_or_default();
    let task = tokio::spawn(async move {
        // One message at a time across connections: a repeat arriving on another
        // connection sees the first one's recorded ACK.
        let serial = Arc::new(tokio::sync::Mutex::new(()));
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    // Deny by default: only listed peers may write to the store.
                    if !allowed.iter().any(|net| net.contains(&peer.ip())) {
                        tracing::warn!(adapter = %core.name, peer = %peer.ip(), "MLLP peer not in listen.allow: disconnected");
                        drop(stream);
                        continue;
                    }
                    let (core, serial) = (core.clone(), serial.clone());
                    tokio::spawn(async move {
                        if let Err(e) = serve(&core, stream, &serial).await {
                            tracing::info!(adapter = %core.name, peer = %peer, error = %e, "MLLP connection closed");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "MLLP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok((bound, task.abort_handle()))
}

async fn serve(
    core: &Core,
    mut stream: TcpStream,
    serial: &tokio::sync::Mutex<()>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.split();
    let mut frames = FrameReader::new(read);
    while let Some(frame) = frames.next().await? {
        let answer = {
            let _one = serial.lock().await;
            receive(core, &frame).await
        };
        write_frame(&mut write, answer.as_bytes()).await?;
    }
    Ok(())
}

/// The ACK to one received frame (after writing what it carries).
pub(crate) async fn receive(core: &Core, frame: &[u8]) -> String {
    let msg = match parse(frame) {
        Ok(m) => m,
        Err(e) => {
            tracing::info!(adapter = %core.name, "unparseable HL7 v2 message refused (AR)");
            return reject_unparsed(&e.to_string());
        }
    };
    let Some(control_id) = msg.control_id().filter(|c| !c.is_empty()) else {
        return ack(
            &msg,
            AckCode::AR,
            Some("MSH-10 (message control id) is empty"),
        );
    };
    let source = format!("{}|{}", msg.msh().field(3).raw(), msg.msh().field(4).raw());
    match core.inbox.answer(&source, &control_id).await {
        Ok(Some((_, recorded))) => {
            tracing::info!(adapter = %core.name, control_id = %control_id, "repeated HL7 v2 message: ACK sent again");
            return recorded;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(adapter = %core.name, error = %e, "inbox unavailable");
            return ack(&msg, AckCode::AR, Some("temporarily unavailable; retry"));
        }
    }
    let (code, text) = write(core, &msg).await;
    tracing::info!(adapter = %core.name, control_id = %control_id, kind = %format!("{}^{}", msg.message_code(), msg.trigger_event()), ack = code.as_str(), "HL7 v2 message received");
    let answer = ack(&msg, code, text.as_deref());
    if code == AckCode::AA
        && let Err(e) = core.inbox.record(&source, &control_id, 200, &answer).await
    {
        // The write committed; a repeat would be written again through conditional creates.
        tracing::warn!(adapter = %core.name, control_id = %control_id, error = %e, "ACK not recorded in the inbox");
    }
    answer
}

/// Maps and writes `msg`; the ACK code and error text.
async fn write(core: &Core, msg: &Message) -> (AckCode, Option<String>) {
    let code = msg.message_code();
    if !MAPPED.contains(&code.as_str()) {
        return (
            AckCode::AR,
            Some(format!("message type {code} is not accepted")),
        );
    }
    let mapped = match message_to_fhir(msg, &core.mapping) {
        Ok(m) => m,
        Err(e) => return (AckCode::AE, Some(e.to_string())),
    };
    if mapped.resources.is_empty() {
        return (
            AckCode::AE,
            Some("the message carries nothing to write".into()),
        );
    }
    let plan = merge::Plan::of(msg);
    let base = "urn:fhirgate:hl7v2";
    let mut attempt = 0;
    let reply = loop {
        attempt += 1;
        let (bundle, versioned) = match merge::transaction(core, &mapped, &plan, base).await {
            Ok(b) => b,
            Err(Refusal::Ambiguous(why) | Refusal::Unidentified(why)) => {
                return (AckCode::AE, Some(why));
            }
            Err(Refusal::Unavailable) => {
                return (
                    AckCode::AR,
                    Some("the FHIR store is unavailable; retry".into()),
                );
            }
        };
        let reply = match core
            .fhir
            .call_url(Method::POST, "", Some(&bundle), base)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(adapter = %core.name, error = %e, "store unavailable for an inbound HL7 v2 message");
                return (
                    AckCode::AR,
                    Some("the FHIR store is unavailable; retry".into()),
                );
            }
        };
        // A 412 `conflict` on a merged entry: a FHIR client wrote it between our read and
        // our write. Merge again into the new version (nothing was written: one transaction).
        let raced = versioned
            && reply.status() == StatusCode::PRECONDITION_FAILED
            && reply.json["issue"][0]["code"] == "conflict";
        if raced && attempt < 3 {
            tracing::info!(adapter = %core.name, attempt, "stored resource changed while merging an HL7 v2 update: merging again");
            continue;
        }
        if raced {
            return (
                AckCode::AR,
                Some("the stored resource kept changing while the update was merged; retry".into()),
            );
        }
        break reply;
    };
    if !reply.status().is_success() {
        let why = reply.json["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("the FHIR store refused the write")
            .to_owned();
        return (
            AckCode::AE,
            Some(format!(
                "refused by the FHIR store ({}): {why}",
                reply.status().as_u16()
            )),
        );
    }
    for entry in reply.json["entry"].as_array().into_iter().flatten() {
        if let Some(loc) = entry["response"]["location"].as_str()
            && let Some((rt, id)) = loc
                .trim_start_matches(base)
                .trim_start_matches('/')
                .split("/_history/")
                .next()
                .and_then(|p| p.split_once('/'))
        {
            core.changes.publish(rt, id);
        }
    }
    (AckCode::AA, None)
}

/// An AR for bytes that are not an HL7 v2 message (no MSH to answer from).
fn reject_unparsed(detail: &str) -> String {
    let now = jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let text = fhirgate_mappings::hl7v2::escape::encode(detail);
    format!(
        "MSH|^~\\&|||||{now}||ACK|{id}|P|2.5.1\rMSA|AR||{text}\rERR|||200^Unsupported message type^HL70357|E||||{text}\r"
    )
}
