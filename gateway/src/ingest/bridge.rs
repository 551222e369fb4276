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

/// A blocking reader over frames sent by [`pump`].
pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(frame)) => self.current = frame,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Starts pumping `body` into a [`ChannelReader`]; the flag turns true when the body went
/// over `limit` bytes (the reader then sees an error and the mapping stops).
pub fn pump(body: Body, limit: u64) -> (ChannelReader, Arc<AtomicBool>) {
    let (tx, rx) = mpsc::channel(FRAMES);
    let too_large = Arc::new(AtomicBool::new(false));
    let flag = too_large.clone();
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut seen: u64 = 0;
        while let Some(frame) = stream.next().await {
            let item = match frame {
                Ok(bytes) => {
                    seen += bytes.len() as u64;
                    if seen > limit {
                        flag.store(true, Ordering::SeqCst);
                        let _ = tx
                            .send(Err(io::Error::other("body exceeds ingest.max_bytes")))
                            .await;
                        return;
                    }
                    Ok(bytes)
                }
                Err(e) => Err(io::Error::other(format!(
                    "request body could not be read: {e}"
                ))),
            };
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                return;
            }
        }
    });
    (
        ChannelReader {
            rx,
            current: Bytes::new(),
        },
        too_large,
    )
}
