use std::time::Duration;

use super::*;

pub(super) const KIB: u64 = 1024;

pub(super) fn budget(budget_kib: u64, limit_kib: u64) -> BodyBudget {
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

fn timed<B>(body: B, idle_ms: u64, total_ms: Option<u64>) -> TimedBody<B> {
    TimedBody::new(
        body,
        BodyTimeouts {
            idle: Duration::from_millis(idle_ms),
            total: total_ms.map(Duration::from_millis),
        },
    )
}

/// A body that sends nothing and never ends.
fn stalled() -> impl axum::body::HttpBody<Data = bytes::Bytes, Error = std::convert::Infallible> {
    http_body_util::StreamBody::new(futures::stream::pending::<
        Result<http_body::Frame<bytes::Bytes>, std::convert::Infallible>,
    >())
}

#[test]
fn a_timed_body_keeps_the_length_and_end_the_admission_reads() {
    use axum::body::{Body, HttpBody};
    let body = timed(Body::from(vec![b' '; 9000]), 1000, Some(1000));
    assert_eq!(body.size_hint().exact(), Some(9000));
    assert!(!body.is_end_stream());
    // Wrapped again as axum's body, as the layer hands it on.
    let body = Body::new(body);
    assert_eq!(body.size_hint().exact(), Some(9000));
    assert!(Body::new(timed(Body::empty(), 1000, None)).is_end_stream());
}

#[tokio::test]
async fn a_body_that_has_arrived_is_read_whole() {
    use http_body_util::BodyExt;
    let body = timed(axum::body::Body::from("{}"), 1000, Some(1000));
    let fired = body.fired();
    let bytes = body.collect().await.expect("read").to_bytes();
    assert_eq!(&bytes[..], b"{}");
    assert_eq!(fired.get(), None);
    assert!(fired.ended(), "read to its end");
}

#[tokio::test]
async fn a_body_left_unread_or_cut_off_has_not_ended() {
    use http_body_util::BodyExt;
    let unread = timed(axum::body::Body::from("{}"), 1000, Some(1000));
    let fired = unread.fired();
    drop(unread);
    assert!(!fired.ended());
    let stalled = timed(Box::pin(stalled()), 50, None);
    let fired = stalled.fired();
    stalled.collect().await.expect_err("timed out");
    assert!(!fired.ended());
}

#[tokio::test]
async fn a_stalled_body_fails_at_the_idle_limit_through_every_wrapper() {
    use http_body_util::{BodyExt, Limited};
    let body = timed(Box::pin(stalled()), 50, None);
    let fired = body.fired();
    // As the edge reads it: axum's body inside `Limited`.
    let limited = Limited::new(axum::body::Body::new(body), 1 << 20);
    let e = limited.collect().await.expect_err("timed out");
    let expected = BodyTimeout::Idle { seconds: 0.05 };
    assert_eq!(body_timeout(&*e), Some(&expected));
    assert_eq!(fired.get(), Some(&expected));
    assert_eq!(
        expected.to_string(),
        "no part of the request body arrived for 0.05 s (server.body_idle_timeout_seconds)"
    );
}

#[tokio::test]
async fn a_trickled_body_fails_at_the_total_limit() {
    use http_body_util::BodyExt;
    // One byte every 10 ms: never idle for 1 s, never complete.
    let trickle = futures::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Some((
            Ok::<_, std::convert::Infallible>(http_body::Frame::data(bytes::Bytes::from_static(
                b" ",
            ))),
            (),
        ))
    });
    let body = timed(
        Box::pin(http_body_util::StreamBody::new(trickle)),
        1000,
        Some(100),
    );
    let e = body.collect().await.expect_err("timed out");
    assert_eq!(
        body_timeout(&*e),
        Some(&BodyTimeout::Total { seconds: 0.1 })
    );
}

fn identity(scope: &str, patient: Option<&str>) -> crate::auth::Identity {
    let mut claims = serde_json::Map::new();
    claims.insert("scope".into(), scope.into());
    claims.insert("client_id".into(), "app".into());
    if let Some(p) = patient {
        claims.insert("patient".into(), p.into());
    }
    crate::auth::Identity::from_claims(&claims, "https://issuer.test", 0).expect("identity")
}

#[test]
fn the_head_refuses_writes_no_scope_allows_on_the_type() {
    use axum::http::Method;
    let denied = |scope, patient, method: Method, path| {
        head_denial(&identity(scope, patient), &method, path).map(|e| e.to_string())
    };
    assert_eq!(
        denied("system/*.rs", None, Method::POST, "Patient"),
        Some("the granted scopes do not allow create on Patient".into())
    );
    assert_eq!(
        denied("system/Observation.cu", None, Method::PUT, "Patient/p1"),
        Some("the granted scopes do not allow update on Patient".into())
    );
    assert_eq!(
        denied("system/Patient.c", None, Method::POST, "Patient/_search"),
        Some("the granted scopes do not allow search-type on Patient".into())
    );
    // A patient/ scope grants nothing without the patient context (as `Subject::grants`).
    assert!(denied("patient/Patient.c", None, Method::POST, "Patient").is_some());
    assert_eq!(
        denied("patient/Patient.c", Some("p1"), Method::POST, "Patient"),
        None
    );
    assert_eq!(
        denied("user/Patient.cu", None, Method::PATCH, "Patient/p1"),
        None
    );
    assert_eq!(denied("system/*.*", None, Method::POST, "Patient"), None);
    // Not decided by the head: batch, operations, paths naming nothing.
    assert_eq!(denied("system/*.rs", None, Method::POST, ""), None);
    assert_eq!(
        denied("system/*.rs", None, Method::POST, "Patient/p1/$everything"),
        None
    );
    assert_eq!(denied("system/*.rs", None, Method::POST, "NotAType"), None);
}

#[test]
fn the_layer_reserves_nothing_for_a_request_its_head_refuses() {
    let b = budget(1024, 1024);
    let mut request = request("POST", "/fhir/Patient", 20 * 1024);
    assert_eq!(super::layer::claim(&b, &request), 20 * KIB);
    request
        .extensions_mut()
        .insert(std::sync::Arc::new(identity("system/*.rs", None)));
    assert_eq!(super::layer::claim(&b, &request), 0);
    request
        .extensions_mut()
        .insert(std::sync::Arc::new(identity("system/Patient.c", None)));
    assert_eq!(super::layer::claim(&b, &request), 20 * KIB);
}

#[tokio::test]
async fn a_reader_pausing_between_frames_is_not_taken_for_a_silent_client() {
    use http_body_util::BodyExt;
    // Three frames, each 10 ms after it is asked for; the idle limit is 50 ms.
    let frames = futures::stream::unfold(0, |n| async move {
        if n == 3 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let frame = http_body::Frame::data(bytes::Bytes::from_static(b" "));
        Some((Ok::<_, std::convert::Infallible>(frame), n + 1))
    });
    let mut body = timed(
        Box::pin(http_body_util::StreamBody::new(frames)),
        50,
        Some(10_000),
    );
    assert!(body.frame().await.is_some_and(|f| f.is_ok()));
    assert!(body.frame().await.is_some_and(|f| f.is_ok()));
    // The reader is busy for longer than the idle limit (backpressure), then reads on.
    tokio::time::sleep(Duration::from_millis(120)).await;
    let rest = body.collect().await.expect("not a timeout").to_bytes();
    assert_eq!(&rest[..], b" ");
}
