//! A whole input read into memory: its items and envelope warnings.

use super::{Item, Reader, TransactionSet};
use crate::MappingError;

/// Everything in an input: its items, in order, and the envelope warnings.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// Transaction sets and TA1 acknowledgments, in input order.
    pub items: Vec<Item>,
    /// Count and control-number mismatches (see [`Reader::warnings`]).
    pub warnings: Vec<String>,
}

impl Document {
    /// The transaction sets, in order.
    pub fn transactions(&self) -> impl Iterator<Item = &TransactionSet> {
        self.items.iter().filter_map(|i| match i {
            Item::Transaction(t) => Some(t),
            Item::InterchangeAck { .. } => None,
        })
    }
}

/// Reads a whole input into memory.
///
/// Errors: [`MappingError::Invalid`] (format `x12`) for input that is not X12 or whose
/// envelopes are broken (see the module docs); never panics.
pub fn parse(input: &[u8]) -> Result<Document, MappingError> {
    let mut reader = Reader::new(input);
    let mut items = Vec::new();
    for item in reader.by_ref() {
        items.push(item?);
    }
    if items.is_empty() {
        return Err(MappingError::invalid(
            "x12",
            "the input holds no interchange",
        ));
    }
    Ok(Document {
        items,
        warnings: reader.warnings,
    })
}
