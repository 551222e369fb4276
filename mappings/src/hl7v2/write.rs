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
