//! Building ER7 text with the standard delimiters `|^~\&` (HL7 v2.5.1 ch. 2 §2.5–2.7):
//! values are escaped leaf by leaf, trailing empty components and fields are left out,
//! segments end in CR.

use super::escape::encode;

/// An explicit null (`""`, v2.5.1 §2.5.3): the receiver deletes its value.
pub const NULL: &str = "\"\"";

/// One segment being written; field numbers are the spec's (`PID-5` is `set(5, …)`).
#[derive(Debug, Clone)]
pub struct SegmentWriter {
    fields: Vec<String>,
}

impl SegmentWriter {
    /// A segment named `id` with no fields yet.
    pub fn new(id: &str) -> Self {
        Self {
            fields: vec![id.to_owned()],
        }
    }

    /// Sets field `n` to `encoded` (already escaped and joined, see [`esc`], [`comps`]).
    pub fn set(&mut self, n: usize, encoded: impl Into<String>) -> &mut Self {
        if self.fields.len() <= n {
            self.fields.resize(n + 1, String::new());
        }
        self.fields[n] = encoded.into();
        self
    }

    /// Sets field `n` to the escaped text `value` when there is one.
    pub fn text(&mut self, n: usize, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.set(n, esc(v));
        }
        self
    }

    /// The segment text without terminator, trailing empty fields left out.
    pub fn finish(mut self) -> String {
        while self.fields.len() > 1 && self.fields.last().is_some_and(String::is_empty) {
            self.fields.pop();
        }
        self.fields.join("|")
    }
}

/// One escaped leaf value.
pub fn esc(text: &str) -> String {
    encode(text)
}

fn join(parts: &[String], sep: &str) -> String {
    let end = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    parts[..end].join(sep)
}

/// Already-encoded components joined with `^`, trailing empties left out.
pub fn comps(parts: &[String]) -> String {
    join(parts, "^")
}

/// Already-encoded subcomponents joined with `&`, trailing empties left out.
pub fn subs(parts: &[String]) -> String {
    join(parts, "&")
}

/// Already-encoded repetitions joined with `~` (empty repetitions dropped).
pub fn reps(parts: &[String]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("~")
}

/// HL7 table 0301 universal id types (v2.5.1), the values HD-3 may take.
pub const UNIVERSAL_ID_TYPES: &[&str] = &[
    "DNS", "GUID", "HCD", "HL7", "ISO", "L", "M", "N", "Random", "URI", "UUID", "x400", "x500",
];

/// An HD value (HL7 v2.5.1 §2.A.33) given as text, `namespace id` optionally followed by
/// `^universal id^universal id type`, encoded as a field: split on `^` into at most three
/// components, each escaped (so a `|`, `~`, `&`, `\` or CR in it can never end the field,
/// repetition, subcomponent or segment), trailing empty components left out. Check the
/// text with [`hd_problem`] first; this never fails.
pub fn hd(text: &str) -> String {
    let parts: Vec<String> = text.splitn(3, '^').map(esc).collect();
    comps(&parts)
}

/// Why `text` is not an HD value (HL7 v2.5.1 §2.A.33) that [`hd`] writes unchanged, or
/// `None`. Empty text is fine (the field is left empty). Problems: a delimiter other than
/// `^` (`|`, `~`, `&`, `\`) or a control character (CR, LF …); more than three components;
/// HD-1 namespace id over 20 characters (IS) or HD-2 universal id over 199 (ST); HD-2 without
/// HD-3 or the reverse (they go together); neither HD-1 nor HD-2; HD-3 not in table 0301
/// ([`UNIVERSAL_ID_TYPES`]); an `ISO` universal id that is not an OID.
pub fn hd_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    if text
        .chars()
        .any(|c| matches!(c, '|' | '~' | '&' | '\\') || c.is_control())
    {
        return Some(
            "must not contain |, ~, & or \\ (HL7 v2 delimiters) or control characters such as CR (the segment terminator); components are separated by ^".into(),
        );
    }
    let parts: Vec<&str> = text.split('^').collect();
    if parts.len() > 3 {
        return Some(
            "an HD has at most 3 components: namespace id^universal id^universal id type".into(),
        );
    }
    let get = |i: usize| parts.get(i).copied().unwrap_or_default();
    let (ns, uid, utype) = (get(0), get(1), get(2));
    if ns.chars().count() > 20 {
        return Some("the namespace id (HD-1) is longer than 20 characters".into());
    }
    if uid.chars().count() > 199 {
        return Some("the universal id (HD-2) is longer than 199 characters".into());
    }
    if uid.is_empty() != utype.is_empty() {
        return Some(
            "the universal id (HD-2) and its type (HD-3) must both be given or both be left out"
                .into(),
        );
    }
    if ns.is_empty() && uid.is_empty() {
        return Some("give a namespace id (HD-1) or a universal id with its type".into());
    }
    if !utype.is_empty() && !UNIVERSAL_ID_TYPES.contains(&utype) {
        return Some(format!(
            "the universal id type (HD-3) must be one of table 0301: {}",
            UNIVERSAL_ID_TYPES.join(", ")
        ));
    }
    let oid = |u: &str| {
        u.split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
    };
    if utype == "ISO" && !oid(uid) {
        return Some(
            "an ISO universal id (HD-2) must be an OID such as 2.16.840.1.113883.19.5".into(),
        );
    }
    None
}

/// Escaped optional texts as components (`None` → empty).
pub fn comps_of(parts: &[Option<&str>]) -> String {
    comps(
        &parts
            .iter()
            .map(|p| p.map(esc).unwrap_or_default())
            .collect::<Vec<_>>(),
    )
}

/// Segments joined into one message, each ended by CR.
pub fn message(segments: &[String]) -> String {
    let mut out = String::with_capacity(segments.iter().map(|s| s.len() + 1).sum());
    for s in segments {
        out.push_str(s);
        out.push('\r');
    }
    out
}

/// A new message control id (MSH-10): 20 characters (the v2.5.1 length of ST MSH-10) of
/// base-36 drawn from a random UUID v4, ~103 bits, so ids from any number of replicas do
/// not collide in practice.
pub fn new_control_id() -> String {
    let mut n = uuid::Uuid::new_v4().as_u128();
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = String::with_capacity(20);
    for _ in 0..20 {
        out.push(char::from(alphabet[(n % 36) as usize]));
        n /= 36;
    }
    out
}

/// An MSH segment with the standard delimiters; `fields` are `(MSH field number ≥ 3,
/// encoded value)`.
pub fn msh(fields: &[(usize, String)]) -> String {
    let mut w = SegmentWriter::new("MSH");
    // fields[1] holds MSH-2: MSH-1 is the separator written between "MSH" and MSH-2.
    w.set(1, "^~\\&");
    for (n, v) in fields {
        w.set(n.saturating_sub(1).max(2), v.clone());
    }
    w.finish()
}
