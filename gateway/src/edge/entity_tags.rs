//! `If-Match` and `If-None-Match` must parse before anything compares them (attack finding
//! LOW N6): a field that is not `*` or a list of entity-tags (RFC 9110 §13.1.1, §13.1.2,
//! entity-tag syntax §8.8.3) is a malformed request, 400 for every caller before scopes are
//! checked, not a precondition that failed (412) or a tag that merely did not match (200).
//! FHIR R4 http.html §3.1.0.6.2 sends the version as `W/"versionId"`.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::error::GatewayError;

/// 400 `invalid` when an `If-Match` or `If-None-Match` field is present but not `*` or a
/// comma-separated list of at least one entity-tag (`"x"`, `W/"x"`). Several field lines of
/// one name are one list (RFC 9110 §5.3); `*` stands alone.
pub fn check(headers: &HeaderMap) -> Result<(), GatewayError> {
    for name in [header::IF_MATCH, header::IF_NONE_MATCH] {
        check_field(headers, &name)?;
    }
    Ok(())
}

/// [`check`], then each of the two fields sent on several lines is folded into one
/// comma-separated line, which RFC 9110 §5.3 makes equivalent: whatever reads the field
/// later (the write guard, an adapter) reads the whole list, not its first line only.
pub fn check_and_fold(headers: &mut HeaderMap) -> Result<(), GatewayError> {
    for name in [header::IF_MATCH, header::IF_NONE_MATCH] {
        if let Some(folded) = check_field(headers, &name)? {
            headers.insert(name, folded);
        }
    }
    Ok(())
}

/// Checks the field `name` (all its lines); `Some` with the lines folded into one when it
/// was sent on several.
fn check_field(
    headers: &HeaderMap,
    name: &HeaderName,
) -> Result<Option<HeaderValue>, GatewayError> {
    let lines: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
    if lines.is_empty() {
        return Ok(None);
    }
    if !valid(&lines) {
        let name = match *name {
            header::IF_MATCH => "If-Match",
            _ => "If-None-Match",
        };
        return Err(GatewayError::BadRequest(invalid_text(name)));
    }
    Ok((lines.len() > 1)
        .then(|| HeaderValue::from_bytes(&lines.join(&b", "[..])).ok())
        .flatten())
}

/// Weak comparison (RFC 9110 §8.8.3.2) of the entity-tag list `list` (an `If-None-Match`
/// field) with `etag`: `W/"1"` matches `"1"`; `*` matches any.
pub fn weak_match(list: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let etag = opaque(etag);
    list.split(',')
        .any(|t| t.trim() == "*" || opaque(t) == etag)
}

/// The same check on a batch or transaction entry's `request.ifMatch` and
/// `request.ifNoneMatch`, which carry those header fields for the entry (FHIR R4
/// `Bundle.entry.request`, http.html §3.1.0.11): `Err` with the text of the 400 when one
/// is present but not a string holding `*` or an entity-tag list.
pub fn check_entry(entry: &serde_json::Value) -> Result<(), String> {
    let request = entry.get("request");
    for (element, name) in [
        ("ifMatch", "request.ifMatch"),
        ("ifNoneMatch", "request.ifNoneMatch"),
    ] {
        match request.and_then(|r| r.get(element)) {
            None => {}
            Some(serde_json::Value::String(text)) if valid(&[text.as_bytes()]) => {}
            Some(_) => return Err(invalid_text(name)),
        }
    }
    Ok(())
}

/// Whether the field lines of one name are `*` alone or a list holding an entity-tag.
fn valid(lines: &[&[u8]]) -> bool {
    let star = lines.len() == 1 && trim(lines[0]) == b"*";
    star || (lines.iter().all(|l| is_list(l)) && lines.iter().any(|l| has_tag(l)))
}

fn invalid_text(name: &str) -> String {
    format!(
        "{name} is not a valid entity-tag list: use * or entity-tags such as W/\"1\" (RFC 9110 §8.8.3, §13.1.1; FHIR R4 http.html §3.1.0.6.2)"
    )
}

/// `#entity-tag` (RFC 9110 §5.6.1): entity-tags separated by commas with optional
/// whitespace; empty elements are ignored (§5.6.1.2).
fn is_list(line: &[u8]) -> bool {
    let mut rest = line;
    loop {
        rest = trim_start(rest);
        match rest.first() {
            None => return true,
            Some(b',') => rest = &rest[1..],
            Some(_) => {
                let Some(after) = entity_tag(rest) else {
                    return false;
                };
                rest = trim_start(after);
                match rest.first() {
                    None => return true,
                    Some(b',') => rest = &rest[1..],
                    Some(_) => return false,
                }
            }
        }
    }
}

/// Whether the list `line` (already known well-formed) holds an entity-tag.
fn has_tag(line: &[u8]) -> bool {
    line.contains(&b'"')
}

/// `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE` at the start of `s` (RFC 9110 §8.8.3;
/// `W/` is case-sensitive; `etagc = %x21 / %x23-7E / obs-text`): what follows it.
fn entity_tag(s: &[u8]) -> Option<&[u8]> {
    let s = s.strip_prefix(b"W/").unwrap_or(s);
    let s = s.strip_prefix(b"\"")?;
    let end = s.iter().position(|&b| b == b'"')?;
    s[..end]
        .iter()
        .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        .then(|| &s[end + 1..])
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &s[n..]
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let n = s
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    &s[..s.len() - n]
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    fn check(values: &[&[u8]]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::IF_MATCH, HeaderValue::from_bytes(v).expect("value"));
        }
        super::check(&headers).is_ok()
    }

    #[test]
    fn star_and_lists_of_entity_tags_parse() {
        for ok in [
            &b"*"[..],
            b" * ",
            br#"W/"1""#,
            br#""1""#,
            br#""""#,
            br#"W/"9", W/"2""#,
            br#"W/"1","2" ,  "x-y.z""#,
            br#", W/"1",,"#,
            b"\"caf\xc3\xa9\"",
        ] {
            assert!(check(&[ok]), "{}", String::from_utf8_lossy(ok));
        }
        assert!(
            check(&[br#"W/"1""#, br#""2""#]),
            "two field lines, one list"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            &br#"W/"abc"#[..],
            b"abc",
            br#"w/"1""#,
            br#"W/ "1""#,
            br#""1" "2""#,
            br#""1";"2""#,
            br#""a"b""#,
            b"*, \"1\"",
            b"**",
            b"",
            b" , ",
            b"W/",
            b"\"a b\"",
        ] {
            assert!(!check(&[bad]), "{}", String::from_utf8_lossy(bad));
        }
        assert!(!check(&[b"*", b"*"]), "* stands alone");
        assert!(!check(&[br#""1""#, b"garbage"]), "every line parses");
    }

    #[test]
    fn if_none_match_is_checked_too() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("W/\"1"));
        let e = super::check(&headers).expect_err("unterminated");
        assert!(
            e.to_string().starts_with("If-None-Match is not a valid"),
            "{e}"
        );
    }
}
