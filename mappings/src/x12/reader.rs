//! Reading segments from bytes in bounded memory: the delimiters come from each ISA
//! (X12.6 §3.3), so single-line files, one-segment-per-line files (CR, LF or CRLF after the
//! terminator) and unusual separators all read the same way.

use std::io::BufRead;

use super::syntax::{Delimiters, Segment};
use crate::MappingError;

/// Longest segment accepted, in bytes: a longer run without a terminator means the input is
/// not X12 (or its terminator is not the one the ISA announced).
pub const MAX_SEGMENT_BYTES: usize = 1 << 20;

/// Longest ISA accepted before its terminator, in bytes (a correct one is 106).
const MAX_ISA_BYTES: usize = 512;

/// Pulls segments one at a time from a [`BufRead`].
pub struct SegmentReader<R> {
    input: R,
    delimiters: Option<Delimiters>,
    /// Segments read so far (the 1-based position of the last one).
    count: usize,
    /// Bytes consumed so far.
    offset: u64,
    /// Bytes peeked ahead of the input's buffer.
    pending: Vec<u8>,
}

fn fail(detail: String) -> MappingError {
    MappingError::invalid("x12", detail)
}

impl<R: BufRead> SegmentReader<R> {
    /// A reader over `input`, which must start with an ISA segment (after optional
    /// whitespace or a UTF-8 byte order mark).
    pub fn new(input: R) -> Self {
        Self {
            input,
            delimiters: None,
            count: 0,
            offset: 0,
            pending: Vec::new(),
        }
    }

    /// The delimiters of the current interchange (after its ISA has been read).
    pub fn delimiters(&self) -> Option<Delimiters> {
        self.delimiters
    }

    /// The 1-based position of the last segment returned.
    pub fn position(&self) -> usize {
        self.count
    }

    /// The next segment, `None` at the end of the input.
    ///
    /// Errors: I/O failures; input not starting with `ISA`; an ISA whose delimiters are
    /// unusable; a segment longer than [`MAX_SEGMENT_BYTES`].
    pub fn next_segment(&mut self) -> Result<Option<Segment>, MappingError> {
        self.skip_layout()?;
        let head = self.peek(3)?;
        if head.is_empty() {
            return Ok(None);
        }
        if head == b"ISA" {
            let segment = self.read_isa()?;
            self.count += 1;
            return Ok(Some(segment));
        }
        let Some(d) = self.delimiters else {
            return Err(fail(
                "the input does not start with an ISA interchange header".into(),
            ));
        };
        let mut bytes = self.read_until(d.segment, MAX_SEGMENT_BYTES)?;
        while bytes.last().is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            bytes.pop();
        }
        self.count += 1;
        Ok(Some(Segment::parse(&bytes, &d)))
    }

    /// Skips line breaks (and a byte order mark) between segments, unless they are delimiters.
    fn skip_layout(&mut self) -> Result<(), MappingError> {
        let delimiters = self.delimiters;
        let skippable = |b: u8| {
            matches!(b, b'\r' | b'\n' | b' ' | b'\t')
                && delimiters.is_none_or(|d| !d.is_delimiter(b) || b == d.segment)
        };
        if self.offset == 0 && self.peek(3)? == [0xEF, 0xBB, 0xBF] {
            self.consume(3);
        }
        loop {
            let buf = self.buffered()?;
            let n = buf.iter().take_while(|b| skippable(**b)).count();
            if n == 0 {
                return Ok(());
            }
            self.consume(n);
        }
    }

    fn consume(&mut self, n: usize) {
        if self.pending.is_empty() {
            self.input.consume(n);
        } else {
            self.pending.drain(..n.min(self.pending.len()));
        }
        self.offset += n as u64;
    }

    /// Up to `n` bytes ahead without consuming them (fewer only at the end of the input):
    /// they move to `pending`, which every read drains first.
    fn peek(&mut self, n: usize) -> Result<Vec<u8>, MappingError> {
        while self.pending.len() < n {
            let buf = self.input.fill_buf().map_err(io_error)?;
            if buf.is_empty() {
                break;
            }
            let take = (n - self.pending.len()).min(buf.len());
            self.pending.extend_from_slice(&buf[..take]);
            self.input.consume(take);
        }
        Ok(self.pending[..n.min(self.pending.len())].to_vec())
    }

    /// The buffered bytes: `pending` first, then the input's buffer.
    fn buffered(&mut self) -> Result<&[u8], MappingError> {
        if self.pending.is_empty() {
            self.input.fill_buf().map_err(io_error)
        } else {
            Ok(&self.pending)
        }
    }

    /// Reads through `terminator` (consumed, not returned); at most `limit` bytes.
    fn read_until(&mut self, terminator: u8, limit: usize) -> Result<Vec<u8>, MappingError> {
        let mut out = Vec::new();
        loop {
            let buf = self.buffered()?;
            if buf.is_empty() {
                return Err(fail(format!(
                    "the input ends inside segment {} (no segment terminator {:?})",
                    self.count + 1,
                    char::from(terminator)
                )));
            }
            match buf.iter().position(|b| *b == terminator) {
                Some(i) => {
                    out.extend_from_slice(&buf[..i]);
                    self.consume(i + 1);
                    break;
                }
                None => {
                    let n = buf.len();
                    out.extend_from_slice(buf);
                    self.consume(n);
                }
            }
            if out.len() > limit {
                return Err(fail(format!(
                    "segment {} is longer than {limit} bytes without a terminator {:?}",
                    self.count + 1,
                    char::from(terminator)
                )));
            }
        }
        if out.len() > limit {
            return Err(fail(format!(
                "segment {} is longer than {limit} bytes",
                self.count + 1
            )));
        }
        Ok(out)
    }

    /// Reads an ISA: 16 elements after the element separator, then ISA16 (the component
    /// separator) and the segment terminator; sets the delimiters from them.
    fn read_isa(&mut self) -> Result<Segment, MappingError> {
        let mut bytes = Vec::with_capacity(110);
        let mut separators = 0;
        let mut element = 0u8;
        while bytes.len() < MAX_ISA_BYTES {
            let buf = self.buffered()?;
            let Some(&b) = buf.first() else {
                return Err(fail("the input ends inside the ISA segment".into()));
            };
            self.consume(1);
            bytes.push(b);
            if bytes.len() == 4 {
                element = b;
            }
            if bytes.len() > 4 && b == element {
                separators += 1;
            }
            if bytes.len() >= 4 && separators == 15 && b == element {
                // After the 16th separator: ISA16 and the terminator follow.
                let mut rest = [0u8; 2];
                for slot in &mut rest {
                    let buf = self.buffered()?;
                    let Some(&c) = buf.first() else {
                        return Err(fail("the input ends inside the ISA segment".into()));
                    };
                    self.consume(1);
                    *slot = c;
                }
                return self.finish_isa(bytes, element, rest[0], rest[1]);
            }
        }
        Err(fail(format!(
            "the ISA segment has fewer than 16 elements within {MAX_ISA_BYTES} bytes"
        )))
    }

    fn finish_isa(
        &mut self,
        mut bytes: Vec<u8>,
        element: u8,
        component: u8,
        terminator: u8,
    ) -> Result<Segment, MappingError> {
        bytes.push(component);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let fields: Vec<&str> = text.split(char::from(element)).collect();
        let isa11 = fields.get(11).copied().unwrap_or("");
        let repetition = match isa11.as_bytes() {
            [r] if !r.is_ascii_alphanumeric() && *r != b' ' => Some(*r),
            _ => None,
        };
        let d = Delimiters {
            element,
            component,
            repetition,
            segment: terminator,
        };
        d.check()?;
        self.delimiters = Some(d);
        Ok(Segment::parse(&bytes, &d))
    }
}

fn io_error(e: std::io::Error) -> MappingError {
    fail(format!("the input could not be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Result<Vec<Segment>, MappingError> {
        let mut r = SegmentReader::new(input);
        let mut out = Vec::new();
        while let Some(s) = r.next_segment()? {
            out.push(s);
        }
        Ok(out)
    }

    const ISA: &str = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~";

    #[test]
    fn single_line_and_line_per_segment_read_the_same() {
        let one = format!("{ISA}GS*HS*A*B*20240101*1200*1*X*005010X279A1~GE*0*1~IEA*1*000000001~");
        let lines = one.replace('~', "~\r\n");
        let a = all(one.as_bytes()).expect("single line");
        let b = all(lines.as_bytes()).expect("lines");
        assert_eq!(a, b);
        assert_eq!(a.len(), 4);
        assert_eq!(a[0].get(13), "000000001");
        assert_eq!(a[0].get(11), "^");
        assert_eq!(a[0].get(16), ":");
    }

    #[test]
    fn unusual_separators_come_from_the_isa() {
        let text = ISA
            .replace('*', "|")
            .replace('^', "{")
            .replace(':', ">")
            .replace('~', "\n")
            + "EB|B||1{33|HM\nIEA|1|000000001\n";
        let segments = all(text.as_bytes()).expect("reads");
        assert_eq!(segments[1].repeats(3), vec!["1", "33"]);
        let mut r = SegmentReader::new(text.as_bytes());
        r.next_segment().expect("isa");
        let d = r.delimiters().expect("set");
        assert_eq!(
            (d.element, d.component, d.repetition, d.segment),
            (b'|', b'>', Some(b'{'), b'\n')
        );
    }

    #[test]
    fn not_x12_and_truncation_are_errors_not_panics() {
        for bad in [
            &b"GS*HS~"[..],
            b"ISA*00*",
            b"ISA*00*  *00*  *ZZ*A*ZZ*B*240101*1200*^*00501*000000001*0*T*",
            b"ISA*00*  *00*  *ZZ*A*ZZ*B*240101*1200*^*00501*000000001*0*T*:~GS*HS*A",
            b"ISA*00*  *00*  *ZZ*A*ZZ*B*240101*1200*^*00501*000000001*0*T**~",
            b"ISA*00*  *00*  *ZZ*A*ZZ*B*240101*1200*^*00501*000000001*0*T*:A",
        ] {
            assert!(all(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(all(b"").expect("empty").is_empty());
    }
}
