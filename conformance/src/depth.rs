//! How deeply a resource may nest arrays and objects: the most the gateway's response
//! post-filter can still read when the resource comes back inside an answer.
//!
//! The filter reads answers with `serde_json`, which refuses JSON nested deeper than its
//! recursion limit (128: at most [`READABLE_DEPTH`] nested arrays and objects). An answer
//! wraps a stored resource in at most [`ANSWER_WRAPPING`] levels: a `batch-response` Bundle,
//! its `entry` array and entry object, then a `searchset` (or `history`) Bundle, its `entry`
//! array and entry object (FHIR R4 http.html §3.1.0.11, bundle.html). A resource nested
//! deeper than [`MAX_DEPTH`] could be stored but never shown to a caller whose answers are
//! filtered: every page holding it would fail. Writes are refused instead (400
//! `too-costly`: "the operation was stopped to protect server resources", R4
//! valueset-issue-type; the content is valid FHIR, the limit is the server's).

use serde_json::Value;

/// Most nested arrays and objects `serde_json` reads (its recursion limit is 128).
pub const READABLE_DEPTH: usize = 127;

/// Most levels an answer adds around a resource (batch-response > entry > searchset > entry).
pub const ANSWER_WRAPPING: usize = 6;

/// Most nested arrays and objects a resource (a request body) may have; the resource
/// object itself is level 1.
pub const MAX_DEPTH: usize = READABLE_DEPTH - ANSWER_WRAPPING;

/// The nesting depth of `value` (a scalar 0, `{}` or `[]` 1).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether the JSON text `bytes` nests arrays and objects deeper than `limit`, read without
/// parsing (brackets inside strings do not count): a cheap check before anything is parsed.
pub fn text_deeper_than(bytes: &[u8], limit: usize) -> bool {
    let mut level = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                level += 1;
                if level > limit {
                    return true;
                }
            }
            b']' | b'}' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        "[".repeat(levels) + &"]".repeat(levels)
    }

    #[test]
    fn serde_json_reads_exactly_the_readable_depth() {
        assert!(serde_json::from_str::<Value>(&nested(READABLE_DEPTH)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(READABLE_DEPTH + 1)).is_err());
    }

    #[test]
    fn text_and_value_depth_agree() {
        let text = r#"{"a":[{"b":"[[[{{"}],"c":{"d":"\"]"}}"#;
        let value: Value = serde_json::from_str(text).expect("json");
        assert_eq!(depth(&value), 3);
        assert!(!text_deeper_than(text.as_bytes(), 3));
        assert!(text_deeper_than(text.as_bytes(), 2));
        assert!(text_deeper_than(
            nested(MAX_DEPTH + 1).as_bytes(),
            MAX_DEPTH
        ));
    }
}
