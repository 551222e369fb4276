//! Strict decoding of `application/x-www-form-urlencoded` text (a URL query, a `POST
//! _search` body, a Bundle entry's `request.url` query) into name/value pairs (WHATWG URL
//! "application/x-www-form-urlencoded parsing", less its lossy UTF-8 step).
//!
//! `form_urlencoded::parse` turns bytes that are not UTF-8 into U+FFFD, so `name=%FF%FE`
//! became a search for two replacement characters, and `na%ffme=x` an unknown parameter
//! that was ignored. Percent-encoded octets of text are UTF-8 (RFC 3986 §2.5; FHIR R4
//! §3.1.0.1.10 uses UTF-8 for all text it exchanges), so a name or value that does not
//! decode to UTF-8 is the client's error (400), before anything runs.

use std::borrow::Cow;

/// Most characters of client input a diagnostic quotes; longer input is cut with `…`, so an
/// error never echoes a client's megabyte back.
pub const MAX_ECHO: usize = 100;

/// `text` as quoted in a diagnostic: at most [`MAX_ECHO`] characters, then `…`.
pub fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO) {
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
        None => Cow::Borrowed(text),
    }
}

/// Why a form could not be decoded: the message names the parameter by position (and by
/// name, clipped, when only the value is bad), never echoing the undecodable octets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormError(pub String);

/// The pairs of `input` in order (`+` is a space; empty pieces between `&` are skipped, a
/// piece without `=` is a name with an empty value). Err: a name or value whose
/// percent-decoded octets are not UTF-8 (RFC 3986 §2.5).
pub fn parse(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for (i, piece) in input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &[][..]),
        };
        let position = i + 1;
        let name = decode(name).ok_or_else(|| {
            FormError(format!(
                "the name of query parameter {position} is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)"
            ))
        })?;
        let value = decode(value).ok_or_else(|| {
            FormError(format!(
                "the value of query parameter {position} ({}) is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)",
                clip(&name)
            ))
        })?;
        out.push((name, value));
    }
    Ok(out)
}

/// `+` → space, then percent-decoding; `None` when the octets are not UTF-8.
fn decode(raw: &[u8]) -> Option<String> {
    let spaced: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::{clip, parse};

    #[test]
    fn decodes_like_form_urlencoded_for_valid_input() {
        for q in [
            "name=van+der%20Berg&_count=5",
            "a&&b=&c==d&%C3%A9=%E2%82%AC",
            "date=ge2013-04-05T18:50:00%2B05:30&x=%",
            "",
        ] {
            let lossy: Vec<(String, String)> =
                form_urlencoded::parse(q.as_bytes()).into_owned().collect();
            assert_eq!(parse(q.as_bytes()).expect("valid"), lossy, "{q}");
        }
    }

    #[test]
    fn octets_that_are_not_utf8_are_refused_in_names_and_values() {
        for q in [
            "name=%FF%FE",
            "%FF=x",
            "a=1&given=%C3",
            "%E2%82=1",
            "na%ffme=x",
        ] {
            assert!(parse(q.as_bytes()).is_err(), "{q}");
        }
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("Patient"), "Patient");
        let long = "é".repeat(300);
        assert_eq!(clip(&long), format!("{}…", "é".repeat(100)));
    }
}
