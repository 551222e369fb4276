//! Bridges an async request body to the synchronous, streaming mapping driver: a task pumps
//! body frames (counting them against `ingest.max_bytes`) into a bounded channel that a
//! blocking [`Read`] drains, so at most a few frames are held in memory.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use bytes::{Buf, Bytes};
use futures::StreamExt;
use tokio::sync::mpsc;

/// Frames in flight between the body and the mapper.
const FRAMES: usize = 8;

/// What the pump sends.
enum Frame {
    Data(Bytes),
    Failed(io::Error),
    /// The body goes on past `ingest.max_bytes`; everything before was sent.
    OverLimit,
}

/// A blocking reader over frames sent by [`pump`].
pub struct ChannelReader {
    rx: mpsc::Receiver<Frame>,
    current: Bytes,
    over_limit: Arc<AtomicBool>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Frame::Data(frame)) => self.current = frame,
                Some(Frame::Failed(e)) => return Err(e),
                Some(Frame::OverLimit) => {
                    self.over_limit.store(true, Ordering::SeqCst);
                    return Err(io::Error::other("body exceeds ingest.max_bytes"));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Starts pumping `body` into a [`ChannelReader`]. The reader yields the body's first
/// `limit` bytes, then an error if it goes on; the flag turns true when the reader returns
/// that error, so whatever the mapper emits after it is the cut's doing, and everything it
/// emitted before lies wholly within the limit.
pub fn pump(body: Body, limit: u64) -> (ChannelReader, Arc<AtomicBool>) {
    let (tx, rx) = mpsc::channel(FRAMES);
    let over_limit = Arc::new(AtomicBool::new(false));
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut seen: u64 = 0;
        while let Some(frame) = stream.next().await {
            let item = match frame {
                Ok(bytes) => {
                    let room = limit.saturating_sub(seen);
                    seen += bytes.len() as u64;
                    if seen > limit {
                        let keep = usize::try_from(room).unwrap_or(usize::MAX);
                        if keep > 0 && tx.send(Frame::Data(bytes.slice(..keep))).await.is_err() {
                            return;
                        }
                        let _ = tx.send(Frame::OverLimit).await;
                        return;
                    }
                    Frame::Data(bytes)
                }
                Err(e) => Frame::Failed(io::Error::other(format!(
                    "request body could not be read: {e}"
                ))),
            };
            let stop = matches!(item, Frame::Failed(_));
            if tx.send(item).await.is_err() || stop {
                return;
            }
        }
    });
    (
        ChannelReader {
            rx,
            current: Bytes::new(),
            over_limit: over_limit.clone(),
        },
        over_limit,
    )
}
