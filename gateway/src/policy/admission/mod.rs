//! Admission of buffered request bodies (attack finding M4): each request is bounded on its
//! own by `server.body_limit`, and all of them together by `server.max_buffered_request_bytes`.
//! A request whose body will be buffered whole reserves its size from one process-wide
//! [`BodyBudget`] before the body is read, and holds it until its response is produced; when
//! no room comes free within [`ADMISSION_WAIT`] it answers 503 `throttled` with
//! `Retry-After`, before any adapter is called. Small bodies and the streamed `$ingest`
//! reserve nothing.

mod budget;
pub mod layer;
#[cfg(test)]
mod tests;

pub use budget::{
    ADMISSION_WAIT, BodyBudget, Exhausted, RETRY_AFTER_SECONDS, Reservation, UNBUDGETED_BODY_BYTES,
};
