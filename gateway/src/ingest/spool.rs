//! A file-backed pipe for the `$ingest` answer: the writer appends batch-response entries to
//! an anonymous temporary file under `server.data_dir` (no name, gone with its last handle);
//! the response body streams the file from the start, following the writer.
//!
//! Why a file and not a bounded in-memory channel: an HTTP/1.1 client that sends the whole
//! request before reading the answer (Python's `http.client`/`requests`, many SDKs) would
//! stop reading while we stop reading its body once a bounded channel fills, and both sides
//! would wait for ever. Here the writer never waits for the client; memory stays bounded
//! (one 64 KiB read buffer), and the answer of a 1 GB export (about 100 bytes per reading)
//! sits on disk until the client reads it. Clients that read while they send get the
//! entries as they are produced.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream};
use tokio::sync::watch;

/// Bytes read from the file per response chunk.
const CHUNK: usize = 64 << 10;

/// How far the writer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// This many bytes are written; more may follow.
    Writing(u64),
    /// All this many bytes are written; the answer is complete.
    Done(u64),
    /// The writer stopped after this many bytes, before completing the answer: the stream
    /// gives them, then ends in an error, so the client sees a broken transfer, never a
    /// short answer that looks complete.
    Failed(u64),
}

/// The writing end.
pub struct Spool {
    file: Arc<File>,
    written: u64,
    progress: watch::Sender<Progress>,
    finished: bool,
}

/// The reading end: becomes the response body with [`SpoolReader::into_stream`].
pub struct SpoolReader {
    file: Arc<File>,
    progress: watch::Receiver<Progress>,
}

/// Creates the pipe, its file in `dir` (created if missing).
///
/// Errors: the directory or the temporary file cannot be created.
pub fn create(dir: &Path) -> io::Result<(Spool, SpoolReader)> {
    std::fs::create_dir_all(dir)?;
    let file = Arc::new(tempfile::tempfile_in(dir)?);
    let (tx, rx) = watch::channel(Progress::Writing(0));
    Ok((
        Spool {
            file: file.clone(),
            written: 0,
            progress: tx,
            finished: false,
        },
        SpoolReader { file, progress: rx },
    ))
}

impl Spool {
    /// Appends `bytes` (off the async threads) and lets the reader see them.
    ///
    /// Errors: the write failed (disk full…); the answer is then marked failed.
    pub async fn append(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let file = self.file.clone();
        let len = bytes.len() as u64;
        let result = tokio::task::spawn_blocking(move || (&*file).write_all(&bytes))
            .await
            .map_err(io::Error::other)
            .and_then(|r| r);
        match result {
            Ok(()) => {
                self.written += len;
                self.progress.send_replace(Progress::Writing(self.written));
                Ok(())
            }
            Err(e) => {
                self.progress.send_replace(Progress::Failed(self.written));
                self.finished = true;
                Err(e)
            }
        }
    }

    /// Marks the answer complete: the reader ends after the last byte.
    pub fn finish(mut self) {
        self.finished = true;
        self.progress.send_replace(Progress::Done(self.written));
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.finished {
            self.progress.send_replace(Progress::Failed(self.written));
        }
    }
}

struct ReadState {
    file: Arc<File>,
    progress: watch::Receiver<Progress>,
    offset: u64,
    ended: bool,
}

impl SpoolReader {
    /// The file's bytes as they are written, ending when the writer finishes; an error item
    /// when it failed or went away before finishing.
    pub fn into_stream(self) -> BoxStream<'static, io::Result<Bytes>> {
        let state = ReadState {
            file: self.file,
            progress: self.progress,
            offset: 0,
            ended: false,
        };
        Box::pin(stream::unfold(state, next_chunk))
    }
}

async fn next_chunk(mut s: ReadState) -> Option<(io::Result<Bytes>, ReadState)> {
    if s.ended {
        return None;
    }
    loop {
        let progress = *s.progress.borrow_and_update();
        let (available, done) = match progress {
            Progress::Writing(n) => (n, false),
            Progress::Done(n) => (n, true),
            Progress::Failed(n) if s.offset >= n => {
                s.ended = true;
                return Some((Err(io::Error::other("the $ingest answer failed")), s));
            }
            Progress::Failed(n) => (n, false),
        };
        if s.offset < available {
            let want = usize::try_from(available - s.offset)
                .unwrap_or(CHUNK)
                .min(CHUNK);
            let (file, offset) = (s.file.clone(), s.offset);
            let read = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0; want];
                file.read_exact_at(&mut buf, offset).map(|()| buf)
            })
            .await
            .map_err(io::Error::other)
            .and_then(|r| r);
            return Some(match read {
                Ok(buf) => {
                    s.offset += buf.len() as u64;
                    (Ok(Bytes::from(buf)), s)
                }
                Err(e) => {
                    s.ended = true;
                    (Err(e), s)
                }
            });
        }
        if done {
            return None;
        }
        if matches!(progress, Progress::Failed(_)) {
            continue;
        }
        if s.progress.changed().await.is_err()
            && matches!(*s.progress.borrow(), Progress::Writing(n) if n <= s.offset)
        {
            // The writer is gone without a word (its Drop normally says Failed).
            s.ended = true;
            return Some((Err(io::Error::other("the $ingest answer failed")), s));
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    async fn collect(reader: SpoolReader) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut stream = reader.into_stream();
        while let Some(item) = stream.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => return (out, false),
            }
        }
        (out, true)
    }

    #[tokio::test]
    async fn the_reader_follows_the_writer_to_the_end() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut spool, reader) = create(dir.path()).expect("spool");
        let read = tokio::spawn(collect(reader));
        spool.append(b"{\"a\":[".to_vec()).await.expect("write");
        tokio::task::yield_now().await;
        spool.append(vec![b'1'; 200_000]).await.expect("write");
        spool.append(b"]}".to_vec()).await.expect("write");
        spool.finish();
        let (bytes, complete) = read.await.expect("join");
        assert!(complete);
        assert_eq!(bytes.len(), 6 + 200_000 + 2);
        assert!(bytes.starts_with(b"{\"a\":[1") && bytes.ends_with(b"1]}"));
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("ls").count(),
            0,
            "no file left"
        );
    }

    #[tokio::test]
    async fn a_writer_gone_before_finishing_ends_the_stream_in_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut spool, reader) = create(dir.path()).expect("spool");
        spool.append(b"{\"entry\":[".to_vec()).await.expect("write");
        drop(spool);
        let (bytes, complete) = collect(reader).await;
        assert!(!complete, "a cut answer must not look complete");
        assert_eq!(bytes, b"{\"entry\":[");
    }
}
