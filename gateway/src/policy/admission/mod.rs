//! Admission of buffered request bodies (attack finding M4): each request is bounded on its
//! own by `server.body_limit`, and all of them together by `server.max_buffered_request_bytes`.
//! A request whose body will be buffered whole reserves its size from one process-wide
//! [`BodyBudget`] before the body is read, and holds it until its response is produced; when
//! no room comes free within [`ADMISSION_WAIT`] it answers 503 `throttled` with
//! `Retry-After`, before any adapter is called. One client holds at most its share of the
//! budget (`server.max_buffered_request_bytes_per_client`); past it, it is answered 429
//! `throttled` at once ([`BodyBudget::admit_as`]). Small bodies and the streamed `$ingest`
//! reserve nothing, nor does a request refused from its head: an adapter endpoint's caller
//! without credentials ([`crate::endpoints`]), a token whose scopes cannot allow the
//! interaction ([`head_denial`]). A body that stalls or trickles is cut off by
//! [`read_timeout`] (408), which returns its reservation with its response.

mod budget;
mod head_scope;
pub mod layer;
pub mod read_timeout;
#[cfg(test)]
mod share_tests;
#[cfg(test)]
mod tests;
mod timed_body;

pub use budget::{
    ADMISSION_WAIT, BodyBudget, ClientKey, Exhausted, RETRY_AFTER_SECONDS, Refused, Reservation,
    UNBUDGETED_BODY_BYTES,
};
pub use head_scope::head_denial;
pub use timed_body::{BodyTimeout, BodyTimeouts, TimedBody, body_timeout};
