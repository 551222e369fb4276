//! MLLP framing (HL7 v2.5.1 Appendix C, "Minimal Lower Layer Protocol" release 2): a
//! message travels as `0x0B` (VT) + message + `0x1C 0x0D` (FS CR) over TCP.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Start block (VT).
pub const START: u8 = 0x0B;
/// End block (FS), followed by [`CR`].
pub const END: u8 = 0x1C;
/// Carriage return ending the frame.
pub const CR: u8 = 0x0D;

/// Largest frame accepted (bytes); a longer one closes the connection.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// `message` framed for the wire.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.extend_from_slice(&[END, CR]);
    out
}

/// Reads frames from a byte stream, keeping bytes past a frame for the next one.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
        }
    }

    /// The next frame's content; `Ok(None)` at a clean end of stream. Bytes before a start
    /// block are skipped (Appendix C: the receiver ignores them).
    ///
    /// Errors: I/O failures; `InvalidData` for a frame over [`MAX_FRAME`] or a stream ending
    /// inside a frame.
    pub async fn next(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(start) = self.buf.iter().position(|&b| b == START) {
                if let Some(end) = self.buf[start..]
                    .windows(2)
                    .position(|w| w == [END, CR])
                    .map(|p| start + p)
                {
                    let content = self.buf[start + 1..end].to_vec();
                    self.buf.drain(..end + 2);
                    return Ok(Some(content));
                }
            } else {
                self.buf.clear();
            }
            if self.buf.len() > MAX_FRAME {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "MLLP frame too large",
                ));
            }
            let mut chunk = [0u8; 8192];
            let n = self.inner.read(&mut chunk).await?;
            if n == 0 {
                return if self.buf.contains(&START) {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "connection closed inside an MLLP frame",
                    ))
                } else {
                    Ok(None)
                };
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Writes one framed message.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, message: &[u8]) -> std::io::Result<()> {
    w.write_all(&frame(message)).await?;
    w.flush().await
}

/// Why one exchange failed.
#[derive(Debug)]
pub enum SendError {
    /// TCP connect failed or timed out.
    Connect(String),
    /// Writing, or reading the answer, failed or timed out.
    Exchange(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "MLLP connect: {e}"),
            Self::Exchange(e) => write!(f, "MLLP exchange: {e}"),
        }
    }
}

/// Connects to `host:port`, sends `message` in one frame and returns the answer frame (one
/// connection per message: simple, and no stale connection after a peer restart).
///
/// Errors: [`SendError`] for connect, write, read failures and timeouts.
pub async fn exchange(
    host: &str,
    port: u16,
    connect_timeout: Duration,
    ack_timeout: Duration,
    message: &[u8],
) -> Result<Vec<u8>, SendError> {
    let mut stream = tokio::time::timeout(connect_timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| SendError::Connect("timed out".into()))?
        .map_err(|e| SendError::Connect(e.kind().to_string()))?;
    let work = async {
        write_frame(&mut stream, message).await?;
        let mut reader = FrameReader::new(&mut stream);
        reader.next().await?.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed without an ACK")
        })
    };
    tokio::time::timeout(ack_timeout, work)
        .await
        .map_err(|_| SendError::Exchange("no ACK within ack_timeout_ms".into()))?
        .map_err(|e| SendError::Exchange(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_split_and_joined_across_reads_are_recovered() {
        let mut wire = b"noise".to_vec();
        wire.extend(frame(b"MSH|a\rPID|1"));
        wire.extend(frame(b"MSH|b"));
        let mut r = FrameReader::new(&wire[..]);
        let first = r.next().await.expect("read").expect("frame");
        assert_eq!(first, b"MSH|a\rPID|1");
        let second = r.next().await.expect("read").expect("frame");
        assert_eq!(second, b"MSH|b");
        assert!(r.next().await.expect("read").is_none(), "clean end");
        let cut = &frame(b"MSH|c")[..4];
        let mut r = FrameReader::new(cut);
        assert!(r.next().await.is_err(), "eof inside a frame is an error");
    }
}
