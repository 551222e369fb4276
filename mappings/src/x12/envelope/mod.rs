//! Interchange envelopes (ASC X12.5 / X12.6, 005010): ISA/IEA, GS/GE and ST/SE, read as a
//! stream of transaction sets with their headers.
//!
//! Structure errors (a segment outside its envelope, an envelope that never closes) stop
//! the reading with an error naming the segment position. Count and control-number
//! mismatches between headers and trailers (IEA01/IEA02, GE01/GE02, SE01/SE02) are
//! [`Reader::warnings`]: the content is still usable, and real interchanges carry them
//! (the AAA 271 fixture's SE02 differs from its ST02).

use std::io::BufRead;

use super::reader::SegmentReader;
use super::syntax::{Delimiters, Segment};
use crate::MappingError;

mod checks;
mod document;

use checks::{check_isa, check_version, unclosed};
pub use document::{Document, parse};

/// The interchange a transaction set arrived in (ISA, X12.5 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeHeader {
    /// The ISA segment as read.
    pub isa: Segment,
    /// The delimiters it announced.
    pub delimiters: Delimiters,
}

impl InterchangeHeader {
    /// ISA13, the interchange control number.
    pub fn control_number(&self) -> &str {
        self.isa.get(13)
    }

    /// ISA06 (sender id) without its padding.
    pub fn sender_id(&self) -> &str {
        self.isa.get(6).trim()
    }

    /// ISA08 (receiver id) without its padding.
    pub fn receiver_id(&self) -> &str {
        self.isa.get(8).trim()
    }
}

/// The functional group a transaction set arrived in (GS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupHeader {
    /// The GS segment as read.
    pub gs: Segment,
}

/// One transaction set: ST, its body and SE, with the envelopes around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSet {
    /// The interchange (ISA) it came in.
    pub interchange: InterchangeHeader,
    /// The functional group (GS) it came in.
    pub group: GroupHeader,
    /// The ST segment: ST01 transaction set id (`270`), ST02 control number, ST03 version.
    pub st: Segment,
    /// The segments between ST and SE.
    pub body: Vec<Segment>,
    /// Position of the ST segment in the input (1-based), for messages.
    pub position: usize,
}

impl TransactionSet {
    /// ST01, e.g. `271`.
    pub fn id(&self) -> &str {
        self.st.get(1)
    }

    /// ST02, the transaction set control number.
    pub fn control_number(&self) -> &str {
        self.st.get(2)
    }
}

/// What an interchange carries: transaction sets and interchange acknowledgments (TA1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A complete ST…SE transaction set.
    Transaction(TransactionSet),
    /// A TA1 interchange acknowledgment (X12.6 §3.6), outside any functional group.
    InterchangeAck {
        /// The interchange carrying it.
        interchange: InterchangeHeader,
        /// The TA1 segment.
        ta1: Segment,
    },
}

enum State {
    Outside,
    Interchange {
        header: InterchangeHeader,
        groups: usize,
    },
    Group {
        header: InterchangeHeader,
        groups: usize,
        group: GroupHeader,
        sets: usize,
    },
    Set {
        header: InterchangeHeader,
        groups: usize,
        group: GroupHeader,
        sets: usize,
        st: Segment,
        body: Vec<Segment>,
        position: usize,
    },
}

/// Reads [`Item`]s from a byte stream, one transaction set in memory at a time.
pub struct Reader<R> {
    segments: SegmentReader<R>,
    state: State,
    warnings: Vec<String>,
    failed: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader over an X12 byte stream (one or more interchanges).
    pub fn new(input: R) -> Self {
        Self {
            segments: SegmentReader::new(input),
            state: State::Outside,
            warnings: Vec::new(),
            failed: false,
        }
    }

    /// Envelope count and control-number mismatches seen so far (no data values).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn step(&mut self) -> Result<Option<Item>, MappingError> {
        loop {
            let Some(segment) = self.segments.next_segment()? else {
                return match &self.state {
                    State::Outside => Ok(None),
                    State::Interchange { header, .. } => {
                        Err(unclosed("interchange", header.control_number(), "IEA"))
                    }
                    State::Group { group, .. } => {
                        Err(unclosed("functional group", group.gs.get(6), "GE"))
                    }
                    State::Set { st, .. } => Err(unclosed("transaction set", st.get(2), "SE")),
                };
            };
            let at = self.segments.position();
            if let Some(item) = self.accept(segment, at)? {
                return Ok(Some(item));
            }
        }
    }

    fn accept(&mut self, segment: Segment, at: usize) -> Result<Option<Item>, MappingError> {
        let state = std::mem::replace(&mut self.state, State::Outside);
        let (next, item) = match (state, segment.id.as_str()) {
            (State::Outside, "ISA") => {
                let delimiters = self.segments.delimiters().unwrap_or(Delimiters::DEFAULT);
                check_isa(&segment, &mut self.warnings);
                let header = InterchangeHeader {
                    isa: segment,
                    delimiters,
                };
                (State::Interchange { header, groups: 0 }, None)
            }
            (State::Interchange { header, groups }, "GS") => (
                State::Group {
                    header,
                    groups: groups + 1,
                    group: GroupHeader { gs: segment },
                    sets: 0,
                },
                None,
            ),
            (State::Interchange { header, groups }, "TA1") => {
                let item = Item::InterchangeAck {
                    interchange: header.clone(),
                    ta1: segment,
                };
                (State::Interchange { header, groups }, Some(item))
            }
            (State::Interchange { header, groups }, "IEA") => {
                self.compare(
                    "IEA01",
                    segment.get(1),
                    "the number of functional groups",
                    &groups.to_string(),
                    at,
                );
                self.compare(
                    "IEA02",
                    segment.get(2),
                    "ISA13",
                    header.control_number(),
                    at,
                );
                (State::Outside, None)
            }
            (
                State::Group {
                    header,
                    groups,
                    group,
                    sets,
                },
                "ST",
            ) => (
                State::Set {
                    header,
                    groups,
                    group,
                    sets: sets + 1,
                    st: segment,
                    body: Vec::new(),
                    position: at,
                },
                None,
            ),
            (
                State::Group {
                    header,
                    groups,
                    group,
                    sets,
                },
                "GE",
            ) => {
                self.compare(
                    "GE01",
                    segment.get(1),
                    "the number of transaction sets",
                    &sets.to_string(),
                    at,
                );
                self.compare("GE02", segment.get(2), "GS06", group.gs.get(6), at);
                (State::Interchange { header, groups }, None)
            }
            (
                State::Set {
                    header,
                    groups,
                    group,
                    sets,
                    st,
                    body,
                    position,
                },
                "SE",
            ) => {
                let count = (body.len() + 2).to_string();
                self.compare(
                    "SE01",
                    segment.get(1),
                    "the number of segments ST through SE",
                    &count,
                    at,
                );
                self.compare("SE02", segment.get(2), "ST02", st.get(2), at);
                check_version(&group, &st, &mut self.warnings);
                let set = TransactionSet {
                    interchange: header.clone(),
                    group: group.clone(),
                    st,
                    body,
                    position,
                };
                (
                    State::Group {
                        header,
                        groups,
                        group,
                        sets,
                    },
                    Some(Item::Transaction(set)),
                )
            }
            (State::Set { st, .. }, id @ ("ST" | "GS" | "GE" | "ISA" | "IEA")) => {
                return Err(MappingError::invalid(
                    "x12",
                    format!(
                        "transaction set {} (segment {}) has no SE before {id} at segment {at}",
                        st.get(2),
                        at
                    ),
                ));
            }
            (
                State::Set {
                    header,
                    groups,
                    group,
                    sets,
                    st,
                    mut body,
                    position,
                },
                _,
            ) => {
                body.push(segment);
                (
                    State::Set {
                        header,
                        groups,
                        group,
                        sets,
                        st,
                        body,
                        position,
                    },
                    None,
                )
            }
            (State::Outside, id) => {
                return Err(MappingError::invalid(
                    "x12",
                    format!("segment {at} ({id}) is outside an interchange (no ISA before it)"),
                ));
            }
            (State::Interchange { .. }, id) => {
                return Err(MappingError::invalid(
                    "x12",
                    format!("segment {at} ({id}) is outside a functional group (no GS before it)"),
                ));
            }
            (State::Group { .. }, id) => {
                return Err(MappingError::invalid(
                    "x12",
                    format!("segment {at} ({id}) is outside a transaction set (no ST before it)"),
                ));
            }
        };
        self.state = next;
        Ok(item)
    }

    fn compare(&mut self, element: &str, found: &str, what: &str, expected: &str, at: usize) {
        let same = found == expected
            || (found.parse::<u64>().ok().is_some()
                && found.parse::<u64>().ok() == expected.parse::<u64>().ok());
        if !same {
            self.warnings.push(format!(
                "segment {at}: {element} is {found:?} but {what} is {expected:?}"
            ));
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Item, MappingError>;

    /// The next item; after an error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
