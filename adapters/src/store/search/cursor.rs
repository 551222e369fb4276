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

/// A position in a search paged over what the caller sees
/// ([`crate::interaction::Visibility`]): the logical id of the entry at it instead of its
/// row id, and the sort key only when it is not the row id. Row ids are numbered across
/// every stored resource, so two of them would tell such a caller how many resources it
/// may not see were stored in between; the id and the sort key of an entry it was shown
/// tell it nothing new. The store finds the row id again from the id ([`super::position`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VisibleCursor {
    /// `true`: results after the position; `false`: results before it.
    pub forward: bool,
    /// Sort key of the entry at the position; `None` when the sort is by row id.
    pub key: Option<i64>,
    /// Logical id of the entry at the position.
    pub id: String,
}

impl VisibleCursor {
    /// The position `c` of the entry with logical id `id`, for a sort by row id or not.
    pub(crate) fn of(c: Cursor, id: &str, rid_sort: bool) -> Self {
        Self {
            forward: c.forward,
            key: (!rid_sort).then_some(c.key),
            id: id.to_owned(),
        }
    }

    /// The `_cursor` value (`v`, direction, sort key, `.`, id; base64url).
    pub(crate) fn encode(&self) -> String {
        let dir = if self.forward { 'n' } else { 'p' };
        let key = self.key.map(|k| k.to_string()).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("v{dir}{key}.{}", self.id))
    }

    /// Parses a `_cursor` value; `None` if it was not made by [`VisibleCursor::encode`].
    pub(crate) fn decode(value: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let rest = text.strip_prefix('v')?;
        let forward = match rest.chars().next()? {
            'n' => true,
            'p' => false,
            _ => return None,
        };
        let (key, id) = rest.get(1..)?.split_once('.')?;
        let key = match key {
            "" => None,
            k => Some(k.parse().ok()?),
        };
        crate::interaction::is_valid_id(id).then(|| Self {
            forward,
            key,
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visible_cursor_names_an_id_and_no_row() {
        let c = Cursor {
            forward: true,
            key: 41,
            rid: 41,
        };
        let by_rid = VisibleCursor::of(c, "dev-1", true);
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(by_rid.encode()).expect("b64"))
            .expect("utf-8");
        assert_eq!(text, "vn.dev-1");
        assert_eq!(VisibleCursor::decode(&by_rid.encode()), Some(by_rid));
        let by_date = VisibleCursor::of(
            Cursor {
                forward: false,
                ..c
            },
            "dev-1",
            false,
        );
        assert_eq!(by_date.key, Some(41));
        assert_eq!(VisibleCursor::decode(&by_date.encode()), Some(by_date));
        // A row cursor is not a visible one, nor the reverse; nor an invalid id.
        assert_eq!(VisibleCursor::decode(&c.encode()), None);
        assert_eq!(
            Cursor::decode(&VisibleCursor::of(c, "x", true).encode()),
            None
        );
        assert_eq!(
            VisibleCursor::decode(&URL_SAFE_NO_PAD.encode("vn.a b")),
            None
        );
    }
}
