//! The parsed shape of one ER7 ("pipe-hat") message: segments of fields, read lazily down to
//! repetitions, components and subcomponents (HL7 v2.5.1 ch. 2 §2.5 "Message construction
//! rules", §2.6 "Message delimiters").
//!
//! Fields are kept raw (still escaped); [`Piece`] splits on demand and [`Piece::text`]
//! decodes escapes ([`super::escape`]) only for the leaf a mapping reads. Field numbers are the
//! spec's (`PID-5` is `segment.field(5)`), component and subcomponent numbers are 1-based, and
//! repetitions are 0-based indexes into `Piece::repetitions`.

use super::escape;

/// The five delimiters a message declares in MSH-1 and MSH-2 (v2.5.1 §2.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), normally `|`.
    pub field: char,
    /// Component separator, normally `^`.
    pub component: char,
    /// Repetition separator, normally `~`.
    pub repetition: char,
    /// Escape character, normally `\`; a message may declare none.
    pub escape: Option<char>,
    /// Subcomponent separator, normally `&`; a message may declare none.
    pub subcomponent: Option<char>,
}

impl Default for Delimiters {
    /// The recommended delimiters `|^~\&`, which fhirgate always writes.
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: Some('\\'),
            subcomponent: Some('&'),
        }
    }
}

impl Delimiters {
    /// MSH-2 as declared: component, repetition, escape and subcomponent characters.
    pub fn encoding_characters(&self) -> String {
        let mut s = String::with_capacity(4);
        s.push(self.component);
        s.push(self.repetition);
        s.extend(self.escape);
        s.extend(self.subcomponent);
        s
    }
}

/// One message: its delimiters and its segments in order (the first is always `MSH`).
/// Built only by [`super::parse`].
#[derive(Debug, Clone)]
pub struct Message {
    pub(crate) delimiters: Delimiters,
    pub(crate) segments: Vec<Segment>,
}

impl Message {
    /// The delimiters from MSH-1/MSH-2.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Segments in message order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The MSH segment (always the first; [`super::parse`] guarantees it).
    pub fn msh(&self) -> &Segment {
        &self.segments[0]
    }

    /// The first segment named `id` (e.g. `PID`).
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id() == id)
    }

    /// MSH-9.1 message code, e.g. `SIU` (empty when absent).
    pub fn message_code(&self) -> String {
        self.msh().text(9, 1).unwrap_or_default()
    }

    /// MSH-9.2 trigger event, e.g. `S12` (empty when absent).
    pub fn trigger_event(&self) -> String {
        self.msh().text(9, 2).unwrap_or_default()
    }

    /// MSH-10 message control id.
    pub fn control_id(&self) -> Option<String> {
        self.msh().field(10).text()
    }

    /// MSH-12.1 version id, e.g. `2.5.1`.
    pub fn version(&self) -> Option<String> {
        self.msh().field(12).text()
    }
}

/// One segment: its raw ER7 text and where each field lies in it. `bounds[0]` is the segment
/// id; for MSH, `bounds[1]` is the field separator and `bounds[2]` the encoding characters,
/// so `field(n)` is SEG-n for every segment.
#[derive(Debug, Clone)]
pub struct Segment {
    pub(crate) raw: String,
    pub(crate) bounds: Vec<(u32, u32)>,
    pub(crate) delimiters: Delimiters,
}

impl Segment {
    /// The segment id, e.g. `PID` or `ZDS`.
    pub fn id(&self) -> &str {
        self.slice(0)
    }

    fn slice(&self, n: usize) -> &str {
        self.bounds
            .get(n)
            .and_then(|&(a, b)| self.raw.get(a as usize..b as usize))
            .unwrap_or("")
    }

    /// Number of the last field present (0 for a segment with only its id).
    pub fn last_field(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// SEG-`n` (1-based); an absent field reads as empty.
    pub fn field(&self, n: usize) -> Piece<'_> {
        let level = if (n == 1 || n == 2) && self.id() == "MSH" {
            Level::Literal
        } else {
            Level::Field
        };
        Piece {
            raw: self.slice(n),
            level,
            d: self.delimiters,
        }
    }

    /// Decoded text of SEG-`field`.`component` (first repetition, first subcomponent).
    pub fn text(&self, field: usize, component: usize) -> Option<String> {
        self.field(field).component(component).text()
    }

    /// The segment as ER7 text with the message's delimiters (no terminator).
    pub fn to_er7(&self) -> String {
        self.raw.clone()
    }
}

/// How deep a [`Piece`] sits in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Field,
    Repetition,
    Component,
    Subcomponent,
    /// MSH-1 and MSH-2: delimiters themselves, never split or unescaped.
    Literal,
}

/// A raw slice of a field at some depth (field, repetition, component or subcomponent).
#[derive(Debug, Clone, Copy)]
pub struct Piece<'a> {
    raw: &'a str,
    level: Level,
    d: Delimiters,
}

fn nth(raw: &str, sep: char, n: usize) -> &str {
    raw.split(sep).nth(n).unwrap_or("")
}

impl<'a> Piece<'a> {
    /// The raw (still escaped) text.
    pub fn raw(self) -> &'a str {
        self.raw
    }

    /// Empty: the sender sent nothing (v2.5.1 §2.5.3: "not present", no change on update).
    pub fn is_empty(self) -> bool {
        self.raw.is_empty()
    }

    /// `""`: an explicit null (v2.5.1 §2.5.3: delete the value on update).
    pub fn is_null(self) -> bool {
        self.raw == "\"\""
    }

    /// The repetitions of a field (none when the field is empty); a deeper piece yields
    /// itself.
    pub fn repetitions(self) -> impl Iterator<Item = Piece<'a>> {
        let d = self.d;
        let (parts, level): (Vec<&'a str>, Level) = if self.raw.is_empty() {
            (Vec::new(), self.level)
        } else if self.level == Level::Field {
            (self.raw.split(d.repetition).collect(), Level::Repetition)
        } else {
            (vec![self.raw], self.level)
        };
        parts.into_iter().map(move |raw| Piece { raw, level, d })
    }

    /// Component `n` (1-based) of the first repetition.
    pub fn component(self, n: usize) -> Piece<'a> {
        let raw = match self.level {
            Level::Field => nth(self.raw, self.d.repetition, 0),
            Level::Repetition => self.raw,
            Level::Component | Level::Subcomponent | Level::Literal => {
                return if n == 1 { self } else { self.empty() };
            }
        };
        Piece {
            raw: nth(raw, self.d.component, n.saturating_sub(1)),
            level: Level::Component,
            d: self.d,
        }
    }

    /// Subcomponent `n` (1-based) of the first component.
    pub fn subcomponent(self, n: usize) -> Piece<'a> {
        let comp = match self.level {
            Level::Field | Level::Repetition => self.component(1),
            Level::Component => self,
            Level::Subcomponent | Level::Literal => {
                return if n == 1 { self } else { self.empty() };
            }
        };
        let raw = match self.d.subcomponent {
            Some(sep) => nth(comp.raw, sep, n.saturating_sub(1)),
            None if n == 1 => comp.raw,
            None => "",
        };
        Piece {
            raw,
            level: Level::Subcomponent,
            d: self.d,
        }
    }

    fn empty(self) -> Piece<'a> {
        Piece {
            raw: "",
            level: Level::Subcomponent,
            d: self.d,
        }
    }

    /// The decoded, trimmed text of the first leaf (first repetition, component and
    /// subcomponent); `None` when empty, `""` (null) or only whitespace.
    pub fn text(self) -> Option<String> {
        let leaf = match self.level {
            Level::Literal => return Some(self.raw.to_owned()),
            _ => self.subcomponent(1),
        };
        if leaf.raw.is_empty() || leaf.is_null() {
            return None;
        }
        let text = escape::decode(leaf.raw, &self.d);
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    /// The decoded, trimmed text of the whole piece, delimiters and all (for free text such
    /// as NTE-3 whose senders may leave separators in it).
    pub fn full_text(self) -> Option<String> {
        if self.raw.is_empty() || self.is_null() {
            return None;
        }
        let text = escape::decode(self.raw, &self.d);
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }
}
