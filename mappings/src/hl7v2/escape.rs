//! HL7 v2 escape sequences in text (v2.5.1 ch. 2 §2.7 "Use of escape sequences in text
//! fields"): `\F\ \S\ \T\ \R\ \E\` for the delimiters, `\Xhh…\` for hexadecimal data,
//! `\.br\` for a line break; highlighting (`\H\`, `\N\`) is dropped, and any other or
//! unterminated sequence is kept verbatim so nothing is lost.

use super::message::Delimiters;

/// Decodes the escape sequences in one leaf value `raw`, using the message's delimiters.
/// `\Xhh…\` bytes are read as UTF-8, or ISO-8859-1 when they are not valid UTF-8.
pub fn decode(raw: &str, d: &Delimiters) -> String {
    let Some(esc) = d.escape else {
        return raw.to_owned();
    };
    if !raw.contains(esc) {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + esc.len_utf8()..];
        let Some(end) = after.find(esc) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let seq = &after[..end];
        match seq {
            "F" => out.push(d.field),
            "S" => out.push(d.component),
            "R" => out.push(d.repetition),
            "E" => out.push(esc),
            "T" => match d.subcomponent {
                Some(c) => out.push(c),
                None => push_verbatim(&mut out, esc, seq),
            },
            ".br" => out.push('\n'),
            "H" | "N" => {}
            _ => match seq.strip_prefix('X').and_then(hex) {
                Some(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => out.push_str(&s),
                    Err(e) => out.extend(e.into_bytes().into_iter().map(char::from)),
                },
                None => push_verbatim(&mut out, esc, seq),
            },
        }
        rest = &after[end + esc.len_utf8()..];
    }
    out.push_str(rest);
    out
}

fn push_verbatim(out: &mut String, esc: char, seq: &str) {
    out.push(esc);
    out.push_str(seq);
    out.push(esc);
}

/// `hh…` (an even number of hex digits, at least two) → bytes.
fn hex(digits: &str) -> Option<Vec<u8>> {
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// Encodes `text` for a field written with the standard delimiters `|^~\&`: each
/// delimiter becomes its escape sequence, CR and LF become `\X0D\` and `\X0A\`.
pub fn encode(text: &str) -> String {
    if !text
        .chars()
        .any(|c| matches!(c, '|' | '^' | '~' | '\\' | '&' | '\r' | '\n'))
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            '\r' => out.push_str("\\X0D\\"),
            '\n' => out.push_str("\\X0A\\"),
            c => out.push(c),
        }
    }
    out
}
