//! [`TimedBody`]: a request body that fails with [`BodyTimeout`] when the client stops
//! sending (`server.body_idle_timeout_seconds` between frames) or takes too long in all
//! (`server.body_read_timeout_seconds` from the first read), so a stalled or trickled body
//! cannot hold a connection, a task and its buffered-body reservation indefinitely.
//!
//! It forwards `size_hint` and `is_end_stream` unchanged: admission ([`super::BodyBudget::claim`])
//! and the 413 checks read them (tower-http's `RequestBodyTimeoutLayer` hides both).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep, sleep_until};

/// The error a [`TimedBody`] fails with when a limit passes (answered 408 `timeout`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BodyTimeout {
    /// No frame arrived within the idle limit.
    #[error(
        "no part of the request body arrived for {seconds} s (server.body_idle_timeout_seconds)"
    )]
    Idle {
        /// The limit, in seconds.
        seconds: f64,
    },
    /// The body did not end within the total limit.
    #[error(
        "the request body was not complete within {seconds} s (server.body_read_timeout_seconds)"
    )]
    Total {
        /// The limit, in seconds.
        seconds: f64,
    },
}

/// The [`BodyTimeout`] that is `error` or lies in its `source` chain (a body error reaches
/// its reader wrapped by axum and by `http_body_util::Limited`).
pub fn body_timeout<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a BodyTimeout> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(timeout) = e.downcast_ref::<BodyTimeout>() {
            return Some(timeout);
        }
        current = e.source();
    }
    None
}

/// What a [`TimedBody`] tells the layer that made it ([`TimedBody::fired`]): the timeout
/// once a limit has passed, and whether its reader reached the end of the body.
#[derive(Debug, Default)]
pub struct BodyOutcome {
    timeout: OnceLock<BodyTimeout>,
    ended: AtomicBool,
}

impl BodyOutcome {
    /// The timeout, once a limit has passed.
    pub fn get(&self) -> Option<&BodyTimeout> {
        self.timeout.get()
    }

    /// Whether the body was read to its end (not: left unread, cut off, or broken framing,
    /// after which the connection cannot carry another request).
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }
}

/// The two limits of one body.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeouts {
    /// Longest time the reader waits for the client's next frame.
    pub idle: Duration,
    /// Longest time from the first read to the end of the body; `None`: no total limit
    /// (the streamed `$ingest`, bounded by its own `ingest.max_bytes` and the idle limit).
    pub total: Option<Duration>,
}

/// A body with [`BodyTimeouts`]. The idle limit counts each wait for the client from the
/// moment the reader finds nothing to read, so a reader that pauses between frames (its
/// own backpressure) is not taken for a silent client; the total limit counts from the
/// first read. Timers are made at the first wait, so a body that arrived with its head
/// costs none. When a limit passes it yields one [`BodyTimeout`] error, then ends, and
/// records the timeout where the layer that made it reads it ([`TimedBody::fired`]), as it
/// records reaching the end of the body.
pub struct TimedBody<B> {
    inner: B,
    limits: BodyTimeouts,
    /// When the first read happened.
    started: Option<Instant>,
    /// Whether the reader is waiting for the client (the idle timer runs).
    waiting: bool,
    idle: Option<Pin<Box<Sleep>>>,
    total: Option<Pin<Box<Sleep>>>,
    fired: Arc<BodyOutcome>,
}

impl<B> TimedBody<B> {
    /// Wraps `inner` with `limits`.
    pub fn new(inner: B, limits: BodyTimeouts) -> Self {
        Self {
            inner,
            limits,
            started: None,
            waiting: false,
            idle: None,
            total: None,
            fired: Arc::default(),
        }
    }

    /// Where the timeout is recorded once a limit has passed, and the end of the body once
    /// read (shared with the body).
    pub fn fired(&self) -> Arc<BodyOutcome> {
        self.fired.clone()
    }

    fn fail(&self, timeout: BodyTimeout) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let _ = self.fired.timeout.set(timeout.clone());
        Poll::Ready(Some(Err(timeout.into())))
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.fired.get().is_some() {
            return Poll::Ready(None);
        }
        let started = *this.started.get_or_insert_with(Instant::now);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = false;
            let ended = match &frame {
                None => true,
                Some(Ok(_)) => this.inner.is_end_stream(),
                Some(Err(_)) => false,
            };
            if ended {
                this.fired.ended.store(true, Ordering::Relaxed);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let limits = this.limits;
        let now = Instant::now();
        let idle = this
            .idle
            .get_or_insert_with(|| Box::pin(sleep_until(now + limits.idle)));
        if !this.waiting {
            // A new wait for the client starts now.
            this.waiting = true;
            idle.as_mut().reset(now + limits.idle);
        }
        if idle.as_mut().poll(cx).is_ready() {
            return this.fail(BodyTimeout::Idle {
                seconds: limits.idle.as_secs_f64(),
            });
        }
        if let Some(total) = limits.total {
            let deadline = this
                .total
                .get_or_insert_with(|| Box::pin(sleep_until(started + total)));
            if deadline.as_mut().poll(cx).is_ready() {
                return this.fail(BodyTimeout::Total {
                    seconds: total.as_secs_f64(),
                });
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
