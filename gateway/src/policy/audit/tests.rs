//! Unit tests: the HMAC chain and its verification, AuditEvent shape, search filters,
//! closing a running trail.

use super::chain::{self, Checkpoint, Head, Stored};
use super::search::{Filter, grants_search, matches, parse};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn chain_of(records: &[&str]) -> (Vec<Stored>, Checkpoint) {
    let mut head = Head::default();
    let stored = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (seq, mac) = head.append(KEY, r.as_bytes());
            Stored {
                position: i as u64 + 1,
                seq,
                mac,
                record: r.as_bytes().to_vec(),
            }
        })
        .collect();
    (
        stored,
        Checkpoint {
            head,
            signature: head.signature(KEY),
        },
    )
}

#[test]
fn an_intact_chain_verifies_and_reports_its_count() {
    let (records, cp) = chain_of(&["a", "b", "c"]);
    let head = chain::verify(KEY, records, Some(cp)).expect("intact");
    assert_eq!(head.count, 3);
}

#[test]
fn an_edited_record_is_named() {
    let (mut records, cp) = chain_of(&["a", "b", "c"]);
    records[1].record = b"B".to_vec();
    let e = chain::verify(KEY, records, Some(cp)).expect_err("edited");
    assert!(
        e.0.starts_with("record 2 (position 2) fails its HMAC"),
        "{e}"
    );
}

#[test]
fn a_deleted_record_is_named_by_the_gap() {
    let (mut records, cp) = chain_of(&["a", "b", "c"]);
    records.remove(1);
    let e = chain::verify(KEY, records, Some(cp)).expect_err("deleted");
    assert!(e.0.contains("has sequence 3 where 2 was expected"), "{e}");
}

#[test]
fn an_inserted_record_is_named() {
    let (mut records, cp) = chain_of(&["a", "b"]);
    let forged = Stored {
        position: 2,
        seq: 2,
        mac: [7; 32],
        record: b"x".to_vec(),
    };
    records.insert(1, forged);
    let e = chain::verify(KEY, records, Some(cp)).expect_err("inserted");
    assert!(
        e.0.starts_with("record 2 (position 2) fails its HMAC"),
        "{e}"
    );
}

#[test]
fn truncation_of_the_newest_record_is_caught_by_the_checkpoint() {
    let (mut records, cp) = chain_of(&["a", "b", "c"]);
    records.pop();
    let e = chain::verify(KEY, records, Some(cp)).expect_err("truncated");
    assert!(e.0.starts_with("record 3 is missing"), "{e}");
}

#[test]
fn a_chain_recomputed_with_another_key_fails_at_the_first_record() {
    let mut head = Head::default();
    let (seq, mac) = head.append(b"attacker-key-attacker-key-attacker", b"a");
    let records = vec![Stored {
        position: 1,
        seq,
        mac,
        record: b"a".to_vec(),
    }];
    let forged_cp = Checkpoint {
        head,
        signature: head.signature(b"attacker-key-attacker-key-attacker"),
    };
    let e = chain::verify(KEY, records, Some(forged_cp)).expect_err("rekeyed");
    assert!(e.0.starts_with("record 1 (position 1)"), "{e}");
}

#[test]
fn mac_is_hmac_sha256_of_previous_mac_sequence_and_record() {
    use hmac::{Hmac, Mac};
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(KEY).expect("key");
    m.update(&[0u8; 32]);
    m.update(&1u64.to_be_bytes());
    m.update(b"rec");
    let expected: [u8; 32] = m.finalize().into_bytes().into();
    assert_eq!(chain::link(KEY, &chain::GENESIS, 1, b"rec"), expected);
    assert_eq!(chain::from_hex(&chain::to_hex(&expected)), Some(expected));
}

#[test]
fn audit_search_needs_a_system_scope_with_search() {
    assert!(grants_search(&["system/AuditEvent.rs".into()]));
    assert!(grants_search(&["system/AuditEvent.read".into()]));
    assert!(grants_search(&["system/*.cruds".into()]));
    assert!(!grants_search(&["system/AuditEvent.r".into()]));
    assert!(!grants_search(&["user/AuditEvent.rs".into()]));
    assert!(!grants_search(&["patient/*.rs".into()]));
}

#[test]
fn search_filters_match_by_date_precision_patient_agent_and_action() {
    let index = super::event::Index {
        recorded: "2026-11-29T19:07:58.123Z".into(),
        action: "R".into(),
        patients: vec!["Patient/p1".into()],
        agents: vec!["app-1".into(), "Practitioner/7".into()],
    };
    let q = |pairs: &[(&str, &str)]| {
        parse(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        )
        .expect("parse")
        .0
    };
    assert!(matches(
        &index,
        &q(&[
            ("date", "2026-11-29"),
            ("patient", "p1"),
            ("agent", "app-1"),
            ("action", "R")
        ])
    ));
    assert!(matches(
        &index,
        &q(&[("date", "ge2026-11-29"), ("date", "lt2026-11-30")])
    ));
    assert!(!matches(&index, &q(&[("date", "gt2026-11-29")])));
    assert!(!matches(&index, &q(&[("patient", "Patient/p2")])));
    assert!(matches(&index, &q(&[("action", "C,R")])));
    assert_eq!(
        q(&[("agent", "Practitioner/7")]),
        vec![Filter::Agent("Practitioner/7".into())]
    );
    assert!(parse(&[("name".into(), "x".into())]).is_err());
}

#[test]
fn audit_event_follows_the_balp_shape() {
    use fhirgate_adapters::interaction::Principal;
    let info = super::event::RequestInfo {
        interaction: Some(fhirgate_adapters::Interaction::Read),
        resource_type: Some("Observation".into()),
        id: Some("o1".into()),
        query: None,
        patients: vec![],
        request_id: "req-1".into(),
    };
    let caller = crate::policy::principal::Caller {
        principal: Some(Principal {
            client_id: "app-1".into(),
            fhir_user: Some("Practitioner/7".into()),
            patient: Some("p1".into()),
            scopes: vec!["patient/*.rs".into()],
        }),
        ip: Some("127.0.0.1".parse().expect("ip")),
        has_credentials: true,
    };
    let index = super::event::index(&info, &caller);
    let e = serde_json::to_value(super::event::build(&info, &caller, 200, "gw-1", &index))
        .expect("serializes");
    assert_eq!(e["resourceType"], "AuditEvent");
    assert_eq!(e["type"]["code"], "rest");
    assert_eq!(e["subtype"][0]["code"], "read");
    assert_eq!(e["action"], "R");
    assert_eq!(e["outcome"], "0");
    assert_eq!(e["agent"][0]["who"]["identifier"]["value"], "app-1");
    assert_eq!(e["agent"][0]["network"]["address"], "127.0.0.1");
    assert_eq!(e["agent"][1]["who"]["reference"], "Practitioner/7");
    assert_eq!(e["entity"][0]["what"]["reference"], "Patient/p1");
    assert_eq!(e["entity"][1]["what"]["reference"], "Observation/o1");
    assert_eq!(e["source"]["observer"]["display"], "gw-1");
    assert_eq!(index.patients, vec!["Patient/p1".to_owned()]);
    assert_eq!(super::event::index_of(&e).agents, index.agents);
    let denied = serde_json::to_value(super::event::build(&info, &caller, 403, "gw-1", &index))
        .expect("serializes");
    assert_eq!(denied["outcome"], "4");
}

#[test]
fn dates_that_are_not_fhir_dates_are_refused() {
    use super::search::parse;
    let q = |v: &str| vec![("date".to_owned(), v.to_owned())];
    for ok in [
        "2026",
        "2026-11",
        "ge2026-11-30",
        "2026-11-30T06:00:00Z",
        "lt2026-11-30T06:00:00.123Z",
    ] {
        assert!(parse(&q(ok)).is_ok(), "{ok}");
    }
    for bad in [
        "zz",
        "2026-1",
        "2026-11-30T06",
        "2026-11-30T06:00:00",
        "2026-11-30T06:00:00+01:00",
        "ge",
        "",
    ] {
        let err = parse(&q(bad)).expect_err(bad);
        assert!(err.contains("is not a FHIR date"), "{bad}: {err}");
    }
}

/// A trail (`release: queued`, no fsync) in `dir`, with its config.
async fn queued_trail(dir: &std::path::Path) -> (crate::config::Config, super::AuditTrail) {
    let config: crate::config::Config = serde_norway::from_str(
        "adapters: {}\nroutes: []\naudit:\n  fsync: false\n  release: queued\n",
    )
    .expect("config");
    let trail = super::AuditTrail::open(&config, dir, "test")
        .await
        .expect("open");
    (config, trail)
}

#[tokio::test]
async fn close_stores_the_queued_records_and_the_checkpoint_while_senders_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, trail) = queued_trail(dir.path()).await;
    let reserved = trail.queue.clone().reserve_owned().await.expect("slot");
    for record in ["{\"a\":1}", "{\"b\":2}"] {
        let (ack, _) = tokio::sync::oneshot::channel();
        trail
            .queue
            .send(super::Job {
                record: record.as_bytes().to_vec(),
                index: super::event::Index::default(),
                ack,
            })
            .await
            .expect("queued");
    }
    let closing = tokio::spawn(async move {
        let closed = trail.close(std::time::Duration::from_secs(5)).await;
        (closed, trail)
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // A slot reserved before the close still delivers its record.
    let (ack, stored) = tokio::sync::oneshot::channel();
    reserved.send(super::Job {
        record: b"{\"c\":3}".to_vec(),
        index: super::event::Index::default(),
        ack,
    });
    let (closed, trail) = closing.await.expect("join");
    assert!(closed);
    assert_eq!(stored.await, Ok(true));
    assert!(
        trail.queue.try_reserve().is_err(),
        "a closed trail takes no new record"
    );
    let head = super::verify(&config, dir.path()).await.expect("intact");
    assert_eq!(head.count, 3);
    assert!(trail.close(std::time::Duration::from_secs(5)).await);
}
