//! ER7 bytes → [`Message`] (HL7 v2.5.1 ch. 2 §2.5–2.6).
//!
//! Tolerated on input: a leading UTF-8 byte-order mark, MLLP framing bytes (`0x0B` … `0x1C`)
//! left around the message, and segments ended by CR (the standard), LF or CRLF; blank lines
//! between segments are skipped. Text is UTF-8, or ISO-8859-1 when MSH-18 declares `8859/1`.
//! Refused with [`MappingError::Invalid`]: anything not starting with `MSH`, delimiters that
//! are missing, repeated or alphanumeric, and segment ids that are not three upper-case
//! letters or digits.

use super::message::{Delimiters, Message, Segment};
use crate::MappingError;

const FORMAT: &str = "hl7v2";

fn invalid(detail: impl Into<String>) -> MappingError {
    MappingError::invalid(FORMAT, detail)
}

/// Parses one message. Errors name the segment number and what is wrong, never values.
pub fn parse(bytes: &[u8]) -> Result<Message, MappingError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !matches!(b, 0x0B | b'\r' | b'\n' | b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0x1C | b'\r' | b'\n' | b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    let bytes = &bytes[..end];
    if !bytes.starts_with(b"MSH") {
        return Err(invalid("a message starts with an MSH segment"));
    }
    let text = decode_text(bytes)?;
    let delimiters = delimiters(&text)?;
    let mut segments = Vec::new();
    for (i, line) in text.split(['\r', '\n']).enumerate() {
        if line.is_empty() {
            continue;
        }
        segments.push(segment(line, delimiters, segments.is_empty(), i)?);
    }
    Ok(Message {
        delimiters,
        segments,
    })
}

/// UTF-8, or ISO-8859-1 when MSH-18 names an 8859 character set.
fn decode_text(bytes: &[u8]) -> Result<String, MappingError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let msh = bytes
                .split(|b| *b == b'\r' || *b == b'\n')
                .next()
                .unwrap_or_default();
            let latin1 = msh.windows(4).any(|w| w == b"8859");
            if latin1 {
                Ok(bytes.iter().copied().map(char::from).collect())
            } else {
                Err(invalid(format!(
                    "not UTF-8 at byte {} and MSH-18 declares no ISO-8859 character set",
                    e.valid_up_to()
                )))
            }
        }
    }
}

fn delimiters(text: &str) -> Result<Delimiters, MappingError> {
    let mut chars = text.chars().skip(3);
    let field = chars
        .next()
        .ok_or_else(|| invalid("MSH ends before MSH-1 (field separator)"))?;
    let encoding: Vec<char> = chars.take_while(|c| *c != field).collect();
    let bad = |c: char| c.is_alphanumeric() || c.is_whitespace() || c == '\r' || c == '\n';
    if bad(field) || encoding.len() < 2 || encoding.len() > 5 {
        return Err(invalid(
            "MSH-1/MSH-2 do not declare the field, component and repetition delimiters",
        ));
    }
    // A fifth character (v2.7+ truncation character, e.g. `#`) is not a delimiter.
    let used = &encoding[..encoding.len().min(4)];
    let mut all = vec![field];
    all.extend_from_slice(used);
    for (i, c) in all.iter().enumerate() {
        if bad(*c) || all[..i].contains(c) {
            return Err(invalid(
                "MSH-1/MSH-2 delimiters must be distinct and not letters, digits or spaces",
            ));
        }
    }
    Ok(Delimiters {
        field,
        component: used[0],
        repetition: used[1],
        escape: used.get(2).copied(),
        subcomponent: used.get(3).copied(),
    })
}

fn segment(line: &str, d: Delimiters, first: bool, index: usize) -> Result<Segment, MappingError> {
    let id = line.split(d.field).next().unwrap_or_default();
    let valid = id.len() == 3
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && id.as_bytes()[0].is_ascii_uppercase();
    if !valid {
        return Err(invalid(format!(
            "segment {}: not a segment id (three upper-case letters or digits)",
            index + 1
        )));
    }
    if first != (id == "MSH") {
        return Err(invalid(format!(
            "segment {}: MSH must come first and only once per message",
            index + 1
        )));
    }
    if line.len() > u32::MAX as usize {
        return Err(invalid(format!("segment {}: longer than 4 GiB", index + 1)));
    }
    // Field n spans bounds[n]; for MSH, field 1 is the separator itself (byte 3). The id was
    // checked above, so a longer line has the separator at byte 3.
    let sep = d.field.len_utf8();
    let mut bounds = vec![(0u32, 3u32)];
    if first {
        bounds.push((3, (3 + sep) as u32));
    }
    if line.len() > 3 {
        let mut at = 3 + sep;
        for part in line[at..].split(d.field) {
            bounds.push((at as u32, (at + part.len()) as u32));
            at += part.len() + sep;
        }
    }
    Ok(Segment {
        raw: line.to_owned(),
        bounds,
        delimiters: d,
    })
}
