//! The HMAC-SHA256 chain over audit records (pure): each record carries
//! `MAC_n = HMAC(key, MAC_{n-1} ‖ n as u64 big-endian ‖ record bytes)`, `MAC_0` = 32 zero
//! bytes; the checkpoint holds `(count, MAC_count)` signed with
//! `HMAC(key, "fhirgate-audit-head" ‖ count ‖ MAC_count)`.
//!
//! Without the key nobody can recompute a chain that verifies, so an edited, inserted,
//! deleted or reordered record breaks the chain at that record, and a truncated log no
//! longer matches the checkpoint. (A replayed *old* checkpoint together with a truncated
//! log is not detectable from the two alone; anchor heads elsewhere if that matters.)

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// A 32-byte HMAC-SHA256 value.
pub type Mac = [u8; 32];

/// The chain's starting value.
pub const GENESIS: Mac = [0; 32];

/// The chain head: how many records and the last MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Records in the chain.
    pub count: u64,
    /// MAC of the last record ([`GENESIS`] when empty).
    pub mac: Mac,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            count: 0,
            mac: GENESIS,
        }
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Mac {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return GENESIS;
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// `MAC_seq` for `record` following `prev`.
pub fn link(key: &[u8], prev: &Mac, seq: u64, record: &[u8]) -> Mac {
    hmac(key, &[prev, &seq.to_be_bytes(), record])
}

impl Head {
    /// The head after appending `record`; returns the record's sequence number and MAC.
    pub fn append(&mut self, key: &[u8], record: &[u8]) -> (u64, Mac) {
        let seq = self.count + 1;
        let mac = link(key, &self.mac, seq, record);
        *self = Self { count: seq, mac };
        (seq, mac)
    }

    /// The checkpoint signature of this head.
    pub fn signature(&self, key: &[u8]) -> Mac {
        hmac(
            key,
            &[b"fhirgate-audit-head", &self.count.to_be_bytes(), &self.mac],
        )
    }
}

/// One stored record as read back: where it is, its claimed sequence number and MAC, and
/// the exact record bytes that were MACed.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Line number (JSON lines) or row position, 1-based, for messages.
    pub position: u64,
    /// The sequence number stored with the record.
    pub seq: u64,
    /// The MAC stored with the record.
    pub mac: Mac,
    /// The record bytes.
    pub record: Vec<u8>,
}

/// A stored checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    /// The head it claims.
    pub head: Head,
    /// Its signature.
    pub signature: Mac,
}

/// The first problem `verify` finds, in words naming the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Broken(pub String);

/// Verifies `records` (in stored order) against `key` and `checkpoint`; returns the head.
///
/// Errors name the first bad record: a sequence gap or repeat (deleted or inserted record),
/// a MAC mismatch (edited record, or a chain recomputed without the key), a missing or
/// forged checkpoint, or fewer/more records than the checkpoint counts (truncation).
pub fn verify(
    key: &[u8],
    records: impl IntoIterator<Item = Stored>,
    checkpoint: Option<Checkpoint>,
) -> Result<Head, Broken> {
    let mut head = Head::default();
    for r in records {
        let expected = head.count + 1;
        if r.seq != expected {
            return Err(Broken(format!(
                "record at position {} has sequence {} where {} was expected (a record was deleted or inserted)",
                r.position, r.seq, expected
            )));
        }
        let mac = link(key, &head.mac, r.seq, &r.record);
        if mac != r.mac {
            return Err(Broken(format!(
                "record {} (position {}) fails its HMAC (edited, inserted, or chain recomputed without the key)",
                r.seq, r.position
            )));
        }
        head = Head { count: r.seq, mac };
    }
    let Some(cp) = checkpoint else {
        return if head.count == 0 {
            Ok(head)
        } else {
            Err(Broken("the checkpoint is missing".into()))
        };
    };
    if cp.signature != cp.head.signature(key) {
        return Err(Broken(
            "the checkpoint's signature is invalid (forged or edited)".into(),
        ));
    }
    if cp.head.count > head.count {
        return Err(Broken(format!(
            "record {} is missing: the checkpoint counts {} records, the log holds {} (truncated)",
            head.count + 1,
            cp.head.count,
            head.count
        )));
    }
    if cp.head.count < head.count {
        return Err(Broken(format!(
            "record {} is not covered by the checkpoint ({} records)",
            cp.head.count + 1,
            cp.head.count
        )));
    }
    if cp.head.mac != head.mac {
        return Err(Broken(format!(
            "record {} does not match the checkpoint's MAC",
            head.count
        )));
    }
    Ok(head)
}

/// Lowercase hex of a MAC.
pub fn to_hex(mac: &Mac) -> String {
    hex::encode(mac)
}

/// Parses 64 hex digits.
pub fn from_hex(s: &str) -> Option<Mac> {
    let bytes = hex::decode(s).ok()?;
    bytes.try_into().ok()
}
