//! General acknowledgments (HL7 v2.5.1 ch. 2 §2.9.2 original mode, §2.14.8 MSA, §2.14.5
//! ERR): building the ACK to a received message and reading an ACK back.

use super::message::Message;
use super::message::Piece;
use super::write::{SegmentWriter, comps_of, esc, message, msh, new_control_id};
use crate::MappingError;

/// MSA-1 acknowledgment code (table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Original mode: application accept.
    AA,
    /// Original mode: application error (the sender may retry).
    AE,
    /// Original mode: application reject (do not retry as is).
    AR,
    /// Enhanced mode: commit accept.
    CA,
    /// Enhanced mode: commit error.
    CE,
    /// Enhanced mode: commit reject.
    CR,
}

impl AckCode {
    /// The code as written in MSA-1.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AA => "AA",
            Self::AE => "AE",
            Self::AR => "AR",
            Self::CA => "CA",
            Self::CE => "CE",
            Self::CR => "CR",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "AA" => Self::AA,
            "AE" => Self::AE,
            "AR" => Self::AR,
            "CA" => Self::CA,
            "CE" => Self::CE,
            "CR" => Self::CR,
            _ => return None,
        })
    }

    fn is_error(self) -> bool {
        !matches!(self, Self::AA | Self::CA)
    }
}

/// An acknowledgment read back from an ACK message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// MSA-1.
    pub code: AckCode,
    /// MSA-2: the MSH-10 of the acknowledged message.
    pub control_id: String,
    /// MSA-3 text, else ERR-8 user message (v2.5+), else ERR-1 text.
    pub text: Option<String>,
}

/// The ACK answering `msg` (ER7, segments ended by CR): MSH with sender and receiver swapped,
/// the same version and processing id, a new control id and now as MSH-7; MSA with `code`,
/// MSH-10 of `msg` and `error` as MSA-3; for an error code also ERR (v2.5+: ERR-3 HL7 error
/// code 207 application internal error — 200 unsupported message type for AR —, ERR-4
/// severity E, ERR-8 the text; before v2.5: ERR-1).
pub fn ack(msg: &Message, code: AckCode, error: Option<&str>) -> String {
    let head = msg.msh();
    let version = msg.version().unwrap_or_else(|| "2.5.1".into());
    let trigger = msg.trigger_event();
    let now = super::time::now_dtm(jiff::Timestamp::now());
    let copy = |n: usize| reencode(msg, head.field(n));
    let at_least = |t: (u8, u8, u8)| super::version_tuple(&version).is_some_and(|v| v >= t);
    let structure = at_least((2, 3, 1)).then_some("ACK");
    let trigger = (!trigger.is_empty()).then_some(trigger.as_str());
    let msh_text = msh(&[
        (3, copy(5)),
        (4, copy(6)),
        (5, copy(3)),
        (6, copy(4)),
        (7, now),
        (9, comps_of(&[Some("ACK"), trigger, structure])),
        (10, new_control_id()),
        (11, copy(11)),
        (12, esc(&version)),
    ]);
    let mut segs = vec![msh_text];
    let mut msa = SegmentWriter::new("MSA");
    msa.set(1, code.as_str());
    msa.set(2, reencode(msg, head.field(10)));
    msa.text(3, error);
    segs.push(msa.finish());
    if code.is_error() {
        let (hl7, text) = if code == AckCode::AR || code == AckCode::CR {
            ("200", "Unsupported message type")
        } else {
            ("207", "Application internal error")
        };
        let mut err = SegmentWriter::new("ERR");
        if at_least((2, 5, 0)) {
            err.set(3, comps_of(&[Some(hl7), Some(text), Some("HL70357")]));
            err.set(4, "E");
            err.text(8, error);
        } else {
            let sub = format!("{hl7}&{}&HL70357", esc(text));
            err.set(1, format!("^^^{sub}"));
        }
        segs.push(err.finish());
    }
    message(&segs)
}

/// Reads MSA (and ERR) of an ACK.
///
/// Errors: [`MappingError::Invalid`] when there is no MSA or MSA-1 is not a table 0008 code.
pub fn parse_ack(msg: &Message) -> Result<Ack, MappingError> {
    let msa = msg
        .segment("MSA")
        .ok_or_else(|| MappingError::invalid("hl7v2", "ACK without an MSA segment"))?;
    let code = msa
        .field(1)
        .text()
        .and_then(|c| AckCode::parse(&c))
        .ok_or_else(|| MappingError::invalid("hl7v2", "MSA-1 is not AA, AE, AR, CA, CE or CR"))?;
    let text = msa.field(3).full_text().or_else(|| {
        let err = msg.segment("ERR")?;
        err.field(8)
            .full_text()
            .or_else(|| err.field(3).component(2).text())
            .or_else(|| err.field(1).component(4).subcomponent(2).text())
    });
    Ok(Ack {
        code,
        control_id: msa.field(2).text().unwrap_or_default(),
        text,
    })
}

/// A field of `msg` re-encoded with the standard delimiters (components 1–3, as HD and the
/// processing id need).
fn reencode(msg: &Message, p: Piece<'_>) -> String {
    if msg.delimiters() == super::Delimiters::default() {
        return p.raw().to_owned();
    }
    let parts: Vec<Option<String>> = (1..=3).map(|c| p.component(c).text()).collect();
    comps_of(&parts.iter().map(|o| o.as_deref()).collect::<Vec<_>>())
}
