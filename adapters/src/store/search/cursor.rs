//! The opaque keyset cursor carried in `_cursor`: the sort key and row id of the last
//! (next page) or first (previous page) entry seen, so paging never skips or repeats a
//! resource when others are written meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A position between two results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// `true`: results after the position; `false`: results before it.
    pub forward: bool,
    /// Sort key of the entry at the position.
    pub key: i64,
    /// Row id of the entry at the position (tie breaker).
    pub rid: i64,
}

impl Cursor {
    /// The `_cursor` value.
    pub(crate) fn encode(self) -> String {
        let dir = if self.forward { 'n' } else { 'p' };
        URL_SAFE_NO_PAD.encode(format!("{dir}{}.{}", self.key, self.rid))
    }

    /// Parses a `_cursor` value; `None` if it was not made by [`Cursor::encode`].
    pub(crate) fn decode(value: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let forward = match text.chars().next()? {
            'n' => true,
            'p' => false,
            _ => return None,
        };
        let (key, rid) = text.get(1..)?.split_once('.')?;
        Some(Self {
            forward,
            key: key.parse().ok()?,
            rid: rid.parse().ok()?,
        })
    }
}
