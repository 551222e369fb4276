use std::time::Duration;

use super::*;

const KIB: u64 = 1024;

fn budget(budget_kib: u64, limit_kib: u64) -> BodyBudget {
    BodyBudget::new(
        budget_kib * KIB,
        limit_kib * KIB,
        Duration::from_millis(200),
    )
}

#[test]
fn claim_skips_small_and_empty_bodies() {
    let b = budget(1024, 1024);
    assert_eq!(b.claim(Some(0), true), 0);
    assert_eq!(b.claim(None, true), 0);
    assert_eq!(b.claim(Some(UNBUDGETED_BODY_BYTES - 1), false), 0);
    assert_eq!(
        b.claim(Some(UNBUDGETED_BODY_BYTES), false),
        UNBUDGETED_BODY_BYTES
    );
}

#[test]
fn claim_is_the_declared_length_and_nothing_past_the_body_limit() {
    let b = budget(1024, 512);
    assert_eq!(b.claim(Some(300 * KIB), false), 300 * KIB);
    assert_eq!(b.claim(Some(512 * KIB), false), 512 * KIB);
    // Refused with 413 unread: nothing to hold, nothing to wait for.
    assert_eq!(b.claim(Some(512 * KIB + 1), false), 0);
}

#[test]
fn a_body_of_unknown_length_claims_the_body_limit() {
    let b = budget(1024, 512);
    assert_eq!(b.claim(None, false), 512 * KIB);
}

#[tokio::test]
async fn nothing_to_reserve_holds_nothing() {
    let b = budget(16, 16);
    assert!(b.admit(0).await.expect("admitted").is_none());
    assert_eq!(b.reserved_kib(), 0);
}

#[tokio::test]
async fn a_reservation_is_rounded_up_to_whole_kib_and_returned_on_drop() {
    let b = budget(1024, 1024);
    let r = b.admit(10 * KIB + 1).await.expect("admitted");
    assert!(r.is_some());
    assert_eq!(b.reserved_kib(), 11);
    drop(r);
    assert_eq!(b.reserved_kib(), 0);
}

#[tokio::test]
async fn reservations_fill_the_budget_then_the_next_is_refused_after_the_wait() {
    let b = budget(1024, 1024);
    let first = b.admit(600 * KIB).await.expect("first");
    let second = b.admit(400 * KIB).await.expect("second");
    assert_eq!(b.reserved_kib(), 1000);
    let started = tokio::time::Instant::now();
    let third = b.admit(100 * KIB).await;
    assert_eq!(
        third.err(),
        Some(Exhausted {
            budget_bytes: 1024 * KIB
        })
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The refused request holds nothing; the admitted ones still hold theirs.
    assert_eq!(b.reserved_kib(), 1000);
    drop((first, second));
    assert_eq!(b.reserved_kib(), 0);
}

#[tokio::test]
async fn a_waiting_request_is_admitted_when_room_comes_free_within_the_wait() {
    let b = std::sync::Arc::new(budget(1024, 1024));
    let first = b.admit(1024 * KIB).await.expect("first");
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.admit(512 * KIB).await.map(|r| r.is_some()) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished());
    drop(first);
    assert_eq!(waiter.await.expect("join"), Ok(true));
}

#[tokio::test]
async fn waiting_is_first_come_first_served() {
    let b = std::sync::Arc::new(budget(1024, 1024));
    let first = b.admit(1024 * KIB).await.expect("first");
    // A large request waits; a small one arriving later must not overtake it.
    let large = {
        let b = b.clone();
        tokio::spawn(async move { b.admit(1024 * KIB).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let small = {
        let b = b.clone();
        tokio::spawn(async move { b.admit(16 * KIB).await.map(|r| r.is_some()) })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(first);
    let large = large.await.expect("join").expect("large admitted");
    assert_eq!(b.reserved_kib(), 1024);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !small.is_finished(),
        "the small request waits behind the large one"
    );
    drop(large);
    assert_eq!(small.await.expect("join"), Ok(true));
}

#[tokio::test]
async fn a_budget_larger_than_u32_kib_is_capped_not_wrapped() {
    let b = BodyBudget::new(u64::MAX, 16 * KIB * KIB, Duration::from_millis(1));
    let r = b.admit(16 * KIB * KIB).await.expect("admitted");
    assert!(r.is_some());
    assert_eq!(b.reserved_kib(), 16 * 1024);
}

fn request(method: &str, uri: &str, body_bytes: usize) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(axum::body::Body::from(vec![b' '; body_bytes]))
        .expect("request")
}

#[test]
fn the_layer_claims_fhir_bodies_but_not_ingest_or_other_paths() {
    let b = budget(1024, 1024);
    let claim = |method, uri, n| super::layer::claim(&b, &request(method, uri, n));
    assert_eq!(claim("POST", "/fhir", 20 * 1024), 20 * KIB);
    assert_eq!(claim("PUT", "/fhir/Patient/p1", 9 * 1024), 9 * KIB);
    assert_eq!(claim("POST", "/fhir/Patient", 100), 0);
    assert_eq!(claim("GET", "/fhir/Patient?name=x", 0), 0);
    // `$ingest` streams its body under `ingest.max_bytes`; it is never buffered whole.
    assert_eq!(claim("POST", "/fhir/Patient/p1/$ingest", 20 * 1024), 0);
    // Outside `/fhir`: adapter endpoints reserve for themselves.
    assert_eq!(claim("POST", "/ncpdp/script", 20 * 1024), 0);
    assert_eq!(claim("POST", "/fhirx", 20 * 1024), 0);
}
