//! ASC X12 005010: reading and writing interchanges, and the 270/271 eligibility mappings
//! (005010X279A1) to and from FHIR R4 CoverageEligibilityRequest/Response.
//!
//! - [`syntax`]: delimiters, segments, elements, components, repetitions.
//! - [`reader`] / [`envelope`]: bytes → segments → transaction sets in bounded memory, with
//!   ISA/IEA, GS/GE and ST/SE checks (mismatched counts and control numbers are warnings,
//!   structural breaks are errors; never a panic).
//! - [`hierarchy`]: HL loops; [`ack`]: TA1 and 999 acknowledgments; [`codes`]: code lists.
//! - [`writer`]: envelopes around mapped transaction sets.
//! - [`eligibility`]: 270/271 ⇄ FHIR.
//!
//! No crate on crates.io fit: `x12-types` binds fixed logistics transactions with fixed
//! delimiters, `edi` either rejects any envelope mismatch or ignores them all and knows no
//! repetitions or loops, so this reader is small and general instead.

pub mod ack;
pub mod codes;
pub mod eligibility;
pub mod envelope;
pub mod hierarchy;
pub mod reader;
pub mod syntax;
pub mod writer;

pub use envelope::{Document, Item, Reader, TransactionSet, parse};
pub use syntax::{Delimiters, Element, Segment};
pub use writer::{InterchangeSpec, civil_date_time, transaction_set, write_interchange};
