//! The opaque `_cursor` of the store's paging links (FHIR R4 search.html §3.1.1.6 and
//! http.html §3.1.0.9: paging links are opaque to the client).
//!
//! A cursor names the entry at the position by what the page itself shows: for a search,
//! the direction, the sort key when the sort is not by row id (a `_lastUpdated` or date
//! value of that entry) and its type and logical id ([`SearchAt`]); for a history, the
//! type, id and version of the last entry shown ([`HistoryAt`]). Row ids never leave the
//! store: they are numbered across every stored resource, so two of them would tell any
//! caller how many resources everyone wrote in between. The store finds the row again from
//! the id on the next request (one indexed lookup per page, none per row), so paging is
//! keyset paging over `(sort key, row id)` and neither skips nor repeats an entry when
//! others are written meanwhile.
//!
//! Every cursor is then encrypted and authenticated ([`CursorKey`], AES-256-GCM-SIV), for
//! two reasons the id alone does not cover: the post-filter may drop the entry a link was
//! made at (a resource of the caller's patient that also names another), whose id the
//! caller must not learn; and a cursor the store did not hand out (one naming an id the
//! caller may not see, to probe whether it exists or where it sorts) must be the same 400
//! `invalid _cursor` as a malformed one. The key is random, kept in the database (table
//! `store_keys`), so every replica on the same database accepts the others' cursors.

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::AnyConnection;

use super::super::db::DbResult;

/// The one nonce of every cursor (deterministic sealing, see [`CursorKey`]).
const NONCE: [u8; 12] = [0; 12];
/// Associated data: a cursor is only ever a store cursor of this format.
const AAD: &[u8] = b"fhirgate store cursor v1";

/// DDL of the table holding the store's random keys (both backends).
const DDL: &str = "CREATE TABLE IF NOT EXISTS store_keys (name TEXT PRIMARY KEY, \
                   secret TEXT NOT NULL)";

/// The key sealing the store's cursors (AES-256-GCM-SIV, deterministic: one fixed nonce);
/// shared by every replica through the database.
#[derive(Clone, Copy)]
pub(crate) struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// The store's cursor key: read from `store_keys`, created there first (32 bytes from
    /// the system CSPRNG) when absent. Concurrent starters race on the primary key; the
    /// loser's insert does nothing and it reads the winner's key.
    ///
    /// Errors: a database failure, or a stored key that is not 32 bytes of base64
    /// (`sqlx::Error::Decode`).
    pub(crate) async fn load(conn: &mut AnyConnection) -> DbResult<Self> {
        sqlx::query(DDL).execute(&mut *conn).await?;
        let mut fresh = [0u8; 32];
        SystemRandom::new()
            .fill(&mut fresh)
            .map_err(|_| sqlx::Error::Protocol("no random bytes for the cursor key".into()))?;
        sqlx::query(
            "INSERT INTO store_keys (name, secret) VALUES ('cursor', $1) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(URL_SAFE_NO_PAD.encode(fresh))
        .execute(&mut *conn)
        .await?;
        let stored: String =
            sqlx::query_scalar("SELECT secret FROM store_keys WHERE name = 'cursor'")
                .fetch_one(&mut *conn)
                .await?;
        let bytes = URL_SAFE_NO_PAD
            .decode(stored)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                sqlx::Error::Decode("store_keys: the cursor key is not 32 bytes".into())
            })?;
        Ok(Self(bytes))
    }

    /// A key from fixed bytes (tests).
    #[cfg(test)]
    pub(crate) fn fixed(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn aead(&self) -> Option<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM_SIV, &self.0)
            .ok()
            .map(LessSafeKey::new)
    }

    /// `text` sealed: AES-256-GCM-SIV under the fixed nonce, base64url. GCM-SIV is
    /// nonce-misuse resistant (RFC 8452 §9): under one nonce the only thing two cursors
    /// show is whether their texts are equal, so the same entry gives the same cursor.
    fn seal(&self, text: &str) -> String {
        let mut out = text.as_bytes().to_vec();
        let sealed = self.aead().is_some_and(|k| {
            let nonce = Nonce::assume_unique_for_key(NONCE);
            k.seal_in_place_append_tag(nonce, Aad::from(AAD), &mut out)
                .is_ok()
        });
        // Never the case for a 32-byte key; an empty cursor then answers 400 invalid.
        if !sealed {
            return String::new();
        }
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The text of a cursor this key sealed; `None` for any other value.
    fn open(&self, value: &str) -> Option<String> {
        let mut bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let key = self.aead()?;
        let nonce = Nonce::assume_unique_for_key(NONCE);
        let text = key.open_in_place(nonce, Aad::from(AAD), &mut bytes).ok()?;
        String::from_utf8(text.to_vec()).ok()
    }
}

/// A keyset position between two search results (inside the store only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// `true`: results after the position; `false`: results before it.
    pub forward: bool,
    /// Sort key of the entry at the position.
    pub key: i64,
    /// Row id of the entry at the position (tie breaker).
    pub rid: i64,
}

/// A search position as handed out: the entry at it by type and id, and its sort key when
/// the sort is not by row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchAt {
    /// `true`: results after the position; `false`: results before it.
    pub forward: bool,
    /// Sort key of the entry at the position; `None` when the sort is by row id.
    pub key: Option<i64>,
    /// Resource type of the entry at the position.
    pub rtype: String,
    /// Logical id of the entry at the position.
    pub id: String,
}

impl SearchAt {
    /// The position `c` at the entry `rtype`/`id`, for a sort by row id or not.
    pub(crate) fn of(c: Cursor, rtype: &str, id: &str, rid_sort: bool) -> Self {
        Self {
            forward: c.forward,
            key: (!rid_sort).then_some(c.key),
            rtype: rtype.to_owned(),
            id: id.to_owned(),
        }
    }

    /// The sealed `_cursor` value (text `s`, direction, sort key, `/type/id`).
    pub(crate) fn encode(&self, key: &CursorKey) -> String {
        let dir = if self.forward { 'n' } else { 'p' };
        let sk = self.key.map(|k| k.to_string()).unwrap_or_default();
        key.seal(&format!("s{dir}{sk}/{}/{}", self.rtype, self.id))
    }

    /// Parses a `_cursor` value; `None` unless `key` sealed it as a search position.
    pub(crate) fn decode(key: &CursorKey, value: &str) -> Option<Self> {
        let text = key.open(value)?;
        let rest = text.strip_prefix('s')?;
        let forward = match rest.chars().next()? {
            'n' => true,
            'p' => false,
            _ => return None,
        };
        let mut parts = rest.get(1..)?.splitn(3, '/');
        let sk = match parts.next()? {
            "" => None,
            k => Some(k.parse().ok()?),
        };
        Some(Self {
            forward,
            key: sk,
            rtype: parts.next()?.to_owned(),
            id: parts.next()?.to_owned(),
        })
    }
}

/// A history position as handed out: the last entry shown, by type, id and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryAt {
    /// Resource type of the entry.
    pub rtype: String,
    /// Logical id of the entry.
    pub id: String,
    /// Version of the entry.
    pub version: i64,
}

impl HistoryAt {
    /// The sealed `_cursor` value (text `h`, version, `/type/id`).
    pub(crate) fn encode(&self, key: &CursorKey) -> String {
        key.seal(&format!("h{}/{}/{}", self.version, self.rtype, self.id))
    }

    /// Parses a `_cursor` value; `None` unless `key` sealed it as a history position.
    pub(crate) fn decode(key: &CursorKey, value: &str) -> Option<Self> {
        let text = key.open(value)?;
        let mut parts = text.strip_prefix('h')?.splitn(3, '/');
        Some(Self {
            version: parts.next()?.parse().ok()?,
            rtype: parts.next()?.to_owned(),
            id: parts.next()?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> String {
        CursorKey::fixed([7; 32])
            .open(value)
            .expect("sealed by the test key")
    }

    #[test]
    fn a_cursor_names_the_entry_shown_and_no_row() {
        let key = CursorKey::fixed([7; 32]);
        let c = Cursor {
            forward: true,
            key: 41,
            rid: 41,
        };
        let by_rid = SearchAt::of(c, "Device", "dev-1", true);
        assert_eq!(text(&by_rid.encode(&key)), "sn/Device/dev-1");
        assert_eq!(SearchAt::decode(&key, &by_rid.encode(&key)), Some(by_rid));
        let back = Cursor {
            forward: false,
            key: -1_700_000,
            ..c
        };
        let by_date = SearchAt::of(back, "Observation", "o.1", false);
        assert_eq!(text(&by_date.encode(&key)), "sp-1700000/Observation/o.1");
        assert_eq!(SearchAt::decode(&key, &by_date.encode(&key)), Some(by_date));
        let at = HistoryAt {
            rtype: "Patient".into(),
            id: "p-1".into(),
            version: 3,
        };
        assert_eq!(text(&at.encode(&key)), "h3/Patient/p-1");
        assert_eq!(HistoryAt::decode(&key, &at.encode(&key)), Some(at.clone()));
        // The same entry gives the same cursor: nothing else goes into it.
        assert_eq!(at.encode(&key), at.clone().encode(&key));
    }

    #[test]
    fn a_cursor_not_sealed_by_the_key_is_invalid() {
        let key = CursorKey::fixed([7; 32]);
        let at = SearchAt {
            forward: true,
            key: None,
            rtype: "Device".into(),
            id: "dev-1".into(),
        };
        let good = at.encode(&key);
        // It shows nothing of the entry, not even its id.
        let raw = URL_SAFE_NO_PAD.decode(&good).expect("base64url");
        assert!(!String::from_utf8_lossy(&raw).contains("dev-1"));
        // Another key (another database), a changed byte, a cut tag, plain text, garbage.
        assert_eq!(SearchAt::decode(&CursorKey::fixed([8; 32]), &good), None);
        let mut flipped = raw.clone();
        flipped[0] ^= 1;
        assert_eq!(
            SearchAt::decode(&key, &URL_SAFE_NO_PAD.encode(flipped)),
            None
        );
        assert_eq!(SearchAt::decode(&key, &good[..good.len() - 2]), None);
        assert_eq!(
            SearchAt::decode(&key, &URL_SAFE_NO_PAD.encode("sn/Device/dev-1")),
            None
        );
        assert_eq!(SearchAt::decode(&key, "zzz"), None);
        assert_eq!(HistoryAt::decode(&key, "7"), None);
        // A search cursor is no history cursor, nor the reverse.
        assert_eq!(HistoryAt::decode(&key, &good), None);
        let h = HistoryAt {
            rtype: "Device".into(),
            id: "dev-1".into(),
            version: 2,
        };
        assert_eq!(SearchAt::decode(&key, &h.encode(&key)), None);
    }
}
