//! X12 syntax (ASC X12.5/X12.6, 005010): delimiters, segments, elements, components and
//! repetitions, and writing a segment back with a given set of delimiters.
//!
//! Elements are numbered as the standard does: `NM103` is `segment.get(3)`; components of a
//! composite are numbered from 1 (`EQ02-2` is `segment.component(2, 2)`).

use crate::MappingError;

/// The four delimiters of an interchange, taken from its ISA segment (X12.6 §3.3): the
/// element separator is the 4th character of the ISA, the component separator is ISA16,
/// the repetition separator ISA11 (005010 and later), and the segment terminator the
/// character right after ISA16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Data element separator (usually `*`).
    pub element: u8,
    /// Component element separator, ISA16 (usually `:`).
    pub component: u8,
    /// Repetition separator, ISA11 (usually `^`); `None` before 00501, where ISA11 is `U`.
    pub repetition: Option<u8>,
    /// Segment terminator (usually `~`).
    pub segment: u8,
}

/// Candidate delimiter sets the writer picks from, in order, when a value contains one of
/// the preceding set's characters (`element`, `component`, `repetition`, `segment`).
const CANDIDATES: [[u8; 4]; 4] = [
    [b'*', b':', b'^', b'~'],
    [b'|', b'>', b'{', b'\''],
    [0x1d, 0x1f, 0x1e, 0x1c],
    [0x07, 0x08, 0x0b, 0x0c],
];

impl Delimiters {
    /// `*`, `:`, `^`, `~`: the delimiters of nearly every 005010 interchange.
    pub const DEFAULT: Self = Self {
        element: b'*',
        component: b':',
        repetition: Some(b'^'),
        segment: b'~',
    };

    /// Checks that the delimiters are distinct and none is a letter, digit or space
    /// (X12.6 §3.3.2: delimiters must not occur in data). Errors name the ISA position.
    pub fn check(&self) -> Result<(), MappingError> {
        let mut all = vec![
            ("element separator (ISA character 4)", self.element),
            ("component separator (ISA16)", self.component),
            ("segment terminator", self.segment),
        ];
        if let Some(r) = self.repetition {
            all.push(("repetition separator (ISA11)", r));
        }
        for (i, (name, byte)) in all.iter().enumerate() {
            if byte.is_ascii_alphanumeric() || *byte == b' ' {
                return Err(MappingError::invalid(
                    "x12",
                    format!(
                        "the {name} {:?} is a letter, digit or space",
                        char::from(*byte)
                    ),
                ));
            }
            if let Some((other, _)) = all[..i].iter().find(|(_, b)| b == byte) {
                return Err(MappingError::invalid(
                    "x12",
                    format!("the {name} is the same character as the {other}"),
                ));
            }
        }
        Ok(())
    }

    /// The first candidate set whose characters occur in none of `values` (so every value
    /// can be written as is). Errors when every candidate collides.
    pub fn choose<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Result<Self, MappingError> {
        CANDIDATES
            .iter()
            .map(|[e, c, r, s]| Self {
                element: *e,
                component: *c,
                repetition: Some(*r),
                segment: *s,
            })
            .find(|d| {
                values
                    .clone()
                    .all(|v| !v.bytes().any(|b| d.is_delimiter(b)))
            })
            .ok_or_else(|| {
                MappingError::invalid("x12", "the data contains every candidate delimiter")
            })
    }

    /// Whether `byte` is one of the four delimiters.
    pub fn is_delimiter(&self, byte: u8) -> bool {
        byte == self.element
            || byte == self.component
            || byte == self.segment
            || Some(byte) == self.repetition
    }
}

/// One data element: its repetitions, each a list of components. A simple element is one
/// repetition of one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element(pub Vec<Vec<String>>);

impl Element {
    /// A simple element holding `value`.
    pub fn simple(value: impl Into<String>) -> Self {
        Self(vec![vec![value.into()]])
    }

    /// A composite element with these components.
    pub fn composite(components: Vec<String>) -> Self {
        Self(vec![components])
    }

    /// A repeated simple element (e.g. EB03 service type codes).
    pub fn repeated(values: Vec<String>) -> Self {
        Self(values.into_iter().map(|v| vec![v]).collect())
    }

    /// The first component of the first repetition (the value of a simple element).
    pub fn value(&self) -> &str {
        self.component(1)
    }

    /// Component `n` (1-based) of the first repetition; `""` when absent.
    pub fn component(&self, n: usize) -> &str {
        self.0
            .first()
            .and_then(|r| r.get(n.wrapping_sub(1)))
            .map_or("", String::as_str)
    }

    /// The first component of every non-empty repetition.
    pub fn repetitions(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter_map(|r| r.first().map(String::as_str))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Whether every component of every repetition is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().flatten().all(String::is_empty)
    }
}

/// One segment: its id (`NM1`) and its elements, `elements[0]` being `NM101`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// Segment id, e.g. `EB`.
    pub id: String,
    /// The data elements in order.
    pub elements: Vec<Element>,
}

impl Segment {
    /// A segment of simple elements; trailing empty ones are dropped when written.
    pub fn new(id: &str, values: &[&str]) -> Self {
        Self {
            id: id.to_owned(),
            elements: values.iter().map(|v| Element::simple(*v)).collect(),
        }
    }

    /// Element `n` (1-based), if present.
    pub fn element(&self, n: usize) -> Option<&Element> {
        self.elements.get(n.wrapping_sub(1))
    }

    /// The value of element `n` (1-based; its first component); `""` when absent.
    pub fn get(&self, n: usize) -> &str {
        self.element(n).map_or("", Element::value)
    }

    /// Component `c` of element `n` (both 1-based); `""` when absent.
    pub fn component(&self, n: usize, c: usize) -> &str {
        self.element(n).map_or("", |e| e.component(c))
    }

    /// The non-empty repetitions of element `n`.
    pub fn repeats(&self, n: usize) -> Vec<&str> {
        self.element(n)
            .map(Element::repetitions)
            .unwrap_or_default()
    }

    /// Splits one segment's bytes (without its terminator). The ISA is split on the element
    /// separator only: ISA11 and ISA16 *are* delimiters.
    pub fn parse(bytes: &[u8], d: &Delimiters) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let mut parts = text.split(char::from(d.element));
        let id = parts.next().unwrap_or("").trim().to_owned();
        let isa = id == "ISA";
        let elements = parts
            .map(|raw| {
                if isa {
                    return Element::simple(raw);
                }
                let reps: Vec<&str> = match d.repetition {
                    Some(r) => raw.split(char::from(r)).collect(),
                    None => vec![raw],
                };
                Element(
                    reps.into_iter()
                        .map(|rep| {
                            rep.split(char::from(d.component))
                                .map(str::to_owned)
                                .collect()
                        })
                        .collect(),
                )
            })
            .collect();
        Self { id, elements }
    }

    /// Every value of the segment (for [`Delimiters::choose`]).
    pub fn values(&self) -> impl Iterator<Item = &str> + Clone {
        self.elements
            .iter()
            .flat_map(|e| e.0.iter().flatten().map(String::as_str))
    }

    /// Appends the segment and its terminator to `out`, dropping trailing empty elements and
    /// components. Errors when a value contains a delimiter (it would change the structure).
    pub fn write(&self, d: &Delimiters, out: &mut Vec<u8>) -> Result<(), MappingError> {
        out.extend_from_slice(self.id.as_bytes());
        let last = self
            .elements
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |i| i + 1);
        for (i, element) in self.elements[..last].iter().enumerate() {
            out.push(d.element);
            if self.id == "ISA" {
                out.extend_from_slice(element.value().as_bytes());
                continue;
            }
            let reps = &element.0;
            for (r, components) in reps.iter().enumerate() {
                if r > 0 {
                    out.push(d.repetition.ok_or_else(|| {
                        MappingError::invalid("x12", "repetitions need a repetition separator")
                    })?);
                }
                let used = components
                    .iter()
                    .rposition(|c| !c.is_empty())
                    .map_or(0, |i| i + 1);
                for (c, value) in components[..used].iter().enumerate() {
                    if c > 0 {
                        out.push(d.component);
                    }
                    if value.bytes().any(|b| d.is_delimiter(b)) {
                        return Err(MappingError::invalid(
                            "x12",
                            format!("{}{:02} holds a delimiter character", self.id, i + 1),
                        ));
                    }
                    out.extend_from_slice(value.as_bytes());
                }
            }
        }
        out.push(d.segment);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_components_and_repetitions_split() {
        let s = Segment::parse(
            b"EB*B**1^33^AL*HM*GOLD*27*10.00*****Y*HC:99213",
            &Delimiters::DEFAULT,
        );
        assert_eq!(s.id, "EB");
        assert_eq!(s.get(1), "B");
        assert_eq!(s.get(2), "");
        assert_eq!(s.repeats(3), vec!["1", "33", "AL"]);
        assert_eq!(s.get(7), "10.00");
        assert_eq!(s.get(12), "Y");
        assert_eq!(s.component(13, 1), "HC");
        assert_eq!(s.component(13, 2), "99213");
        assert_eq!(s.get(40), "");
        let mut out = Vec::new();
        s.write(&Delimiters::DEFAULT, &mut out).expect("writes");
        assert_eq!(out, b"EB*B**1^33^AL*HM*GOLD*27*10.00*****Y*HC:99213~");
    }

    #[test]
    fn delimiters_in_values_are_refused_or_avoided() {
        let s = Segment::new("NM1", &["IL", "1", "O*BRIEN"]);
        assert!(s.write(&Delimiters::DEFAULT, &mut Vec::new()).is_err());
        let d = Delimiters::choose(s.values()).expect("a set");
        assert_eq!(d.element, b'|');
        let mut out = Vec::new();
        s.write(&d, &mut out).expect("writes");
        assert_eq!(out, b"NM1|IL|1|O*BRIEN'");
    }

    #[test]
    fn bad_delimiters_are_named() {
        let same = Delimiters {
            component: b'*',
            ..Delimiters::DEFAULT
        };
        assert!(
            same.check()
                .expect_err("refused")
                .to_string()
                .contains("same character")
        );
        let letter = Delimiters {
            segment: b'A',
            ..Delimiters::DEFAULT
        };
        assert!(
            letter
                .check()
                .expect_err("refused")
                .to_string()
                .contains("letter")
        );
    }
}
