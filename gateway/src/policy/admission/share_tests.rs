//! Unit tests of one client's share of the buffered-body budget
//! (`server.max_buffered_request_bytes_per_client`, [`BodyBudget::admit_as`]).

use std::time::Duration;

use fhirgate_adapters::interaction::Principal;

use super::tests::{KIB, budget};
use super::*;

fn principal(client: &str, fhir_user: Option<&str>, patient: Option<&str>) -> Principal {
    Principal {
        client_id: client.into(),
        fhir_user: fhir_user.map(Into::into),
        patient: patient.map(Into::into),
        scopes: vec!["system/*.cruds".into()],
    }
}

#[tokio::test]
async fn a_client_past_its_share_is_refused_at_once_while_others_are_admitted() {
    let b = budget(1024, 256).with_client_share(Some(300 * KIB));
    let a = b.client_key(Some(&principal("app", None, Some("A"))), None);
    let other_user = b.client_key(Some(&principal("app", None, Some("B"))), None);
    let other_app = b.client_key(Some(&principal("other", None, Some("A"))), None);
    let first = b.admit_as(200 * KIB, a).await.expect("first");
    let started = tokio::time::Instant::now();
    // 200 + 101 KiB > 300 KiB: refused without waiting, though the budget has room.
    assert_eq!(
        b.admit_as(101 * KIB, a).await.err(),
        Some(Refused::ClientShare {
            share_bytes: 300 * KIB
        })
    );
    assert!(started.elapsed() < Duration::from_millis(200));
    // Exactly up to the share is allowed.
    let second = b.admit_as(100 * KIB, a).await.expect("up to the share");
    let user = b.admit_as(250 * KIB, other_user).await.expect("other user");
    let app = b.admit_as(250 * KIB, other_app).await.expect("other app");
    assert_eq!(b.reserved_kib(), 800);
    // Returned with the reservation: A's share is free again.
    drop((first, second));
    let again = b.admit_as(300 * KIB, a).await.expect("share free again");
    assert_eq!(b.reserved_kib(), 800);
    drop((again, user, app));
    assert_eq!(b.reserved_kib(), 0);
}

#[tokio::test]
async fn a_share_refused_by_the_full_budget_is_returned() {
    let b = budget(512, 512).with_client_share(Some(300 * KIB));
    let a = b.client_key(None, Some([127, 0, 0, 1].into()));
    let c = b.client_key(None, Some([127, 0, 0, 2].into()));
    let held = b.admit_as(300 * KIB, c).await.expect("c");
    // A's 250 KiB fit its share but not the budget: 503 after the wait, share returned.
    assert_eq!(
        b.admit_as(250 * KIB, a).await.err(),
        Some(Refused::Exhausted(Exhausted {
            budget_bytes: 512 * KIB
        }))
    );
    drop(held);
    let r = b.admit_as(300 * KIB, a).await.expect("a's whole share");
    assert_eq!(b.reserved_kib(), 300);
    drop(r);
}

#[tokio::test]
async fn a_share_of_the_whole_budget_is_no_share() {
    let b = budget(512, 512).with_client_share(Some(512 * KIB));
    let a = b.client_key(Some(&principal("app", None, None)), None);
    let first = b.admit_as(300 * KIB, a).await.expect("first");
    // Only the budget applies: the wait, then 503, not 429.
    assert_eq!(
        b.admit_as(300 * KIB, a).await.err(),
        Some(Refused::Exhausted(Exhausted {
            budget_bytes: 512 * KIB
        }))
    );
    drop(first);
}
