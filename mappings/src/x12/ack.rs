//! Acknowledgments a partner may send instead of (or before) an answer: the TA1 interchange
//! acknowledgment (X12.6 §3.6) and the 999 implementation acknowledgment (005010X231A1).
//! Both are read into plain structures with a one-line description for error messages.

use super::codes::{
    ELEMENT_ERROR, GROUP_ACK, GROUP_ERROR, INTERCHANGE_NOTE, SEGMENT_ERROR, SET_ACK, SET_ERROR,
};
use super::envelope::TransactionSet;
use super::syntax::Segment;
use crate::MappingError;

/// A TA1: whether the receiver accepted interchange `control_number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeAck {
    /// TA101: the acknowledged interchange's ISA13.
    pub control_number: String,
    /// TA104: `A` accepted, `E` accepted with errors, `R` rejected.
    pub code: String,
    /// TA105 interchange note code (`000` no error, `022` invalid control structure…).
    pub note: String,
}

impl InterchangeAck {
    /// Reads a TA1 segment. Errors: not a TA1, or TA104 missing.
    pub fn from_segment(ta1: &Segment) -> Result<Self, MappingError> {
        if ta1.id != "TA1" || ta1.get(4).is_empty() {
            return Err(MappingError::invalid("x12", "not a TA1 segment with TA104"));
        }
        Ok(Self {
            control_number: ta1.get(1).to_owned(),
            code: ta1.get(4).to_owned(),
            note: ta1.get(5).to_owned(),
        })
    }

    /// Whether the interchange was accepted (`A` or `E`).
    pub fn accepted(&self) -> bool {
        matches!(self.code.as_str(), "A" | "E")
    }

    /// E.g. `TA1 rejected interchange 000000907: Invalid Control Structure (022)`.
    pub fn describe(&self) -> String {
        let verdict = match self.code.as_str() {
            "A" => "accepted",
            "E" => "accepted with errors",
            "R" => "rejected",
            _ => "answered",
        };
        format!(
            "TA1 {verdict} interchange {}: {}",
            self.control_number,
            INTERCHANGE_NOTE.describe(&self.note)
        )
    }
}

/// A 999's verdict on one transaction set (AK2 … IK5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAck {
    /// AK201 transaction set id, e.g. `270`.
    pub set_id: String,
    /// AK202 the acknowledged ST02.
    pub control_number: String,
    /// IK501 acknowledgment code (`A`, `E`, `R`, …).
    pub code: String,
    /// The reported errors, described (IK3/IK4 segment and element errors, IK502–IK506).
    pub errors: Vec<String>,
}

/// A 999 implementation acknowledgment for one functional group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplementationAck {
    /// AK101 functional identifier code of the acknowledged group, e.g. `HS`.
    pub functional_id: String,
    /// AK102 the acknowledged GS06.
    pub group_control_number: String,
    /// One entry per AK2 loop.
    pub sets: Vec<SetAck>,
    /// AK901 (`A`, `E`, `P`, `R`, …).
    pub code: String,
    /// AK905–AK909 group errors, described.
    pub errors: Vec<String>,
}

impl ImplementationAck {
    /// Reads a 999 transaction set. Errors: not a 999, or without AK1/AK9.
    pub fn from_transaction(set: &TransactionSet) -> Result<Self, MappingError> {
        if set.id() != "999" {
            return Err(MappingError::invalid(
                "x12",
                format!("transaction set {} is not a 999", set.id()),
            ));
        }
        let mut ack: Option<Self> = None;
        let mut current: Option<SetAck> = None;
        let mut segment_at = String::new();
        for s in &set.body {
            match s.id.as_str() {
                "AK1" => {
                    ack = Some(Self {
                        functional_id: s.get(1).to_owned(),
                        group_control_number: s.get(2).to_owned(),
                        sets: Vec::new(),
                        code: String::new(),
                        errors: Vec::new(),
                    })
                }
                "AK2" => {
                    if let (Some(a), Some(c)) = (ack.as_mut(), current.take()) {
                        a.sets.push(c);
                    }
                    current = Some(SetAck {
                        set_id: s.get(1).to_owned(),
                        control_number: s.get(2).to_owned(),
                        code: String::new(),
                        errors: Vec::new(),
                    });
                }
                "IK3" => {
                    segment_at = format!("segment {} at position {}", s.get(1), s.get(2));
                    if let Some(c) = current.as_mut() {
                        c.errors.push(format!(
                            "{segment_at}: {}",
                            SEGMENT_ERROR.describe(s.get(4))
                        ));
                    }
                }
                "IK4" => {
                    if let Some(c) = current.as_mut() {
                        c.errors.push(format!(
                            "{segment_at}, element {}: {}",
                            s.component(1, 1),
                            ELEMENT_ERROR.describe(s.get(3))
                        ));
                    }
                }
                "IK5" => {
                    if let Some(c) = current.as_mut() {
                        c.code = s.get(1).to_owned();
                        c.errors.extend(
                            (2..=6)
                                .map(|n| s.get(n))
                                .filter(|v| !v.is_empty())
                                .map(|v| SET_ERROR.describe(v)),
                        );
                    }
                }
                "AK9" => {
                    if let Some(a) = ack.as_mut() {
                        a.code = s.get(1).to_owned();
                        a.errors.extend(
                            (5..=9)
                                .map(|n| s.get(n))
                                .filter(|v| !v.is_empty())
                                .map(|v| GROUP_ERROR.describe(v)),
                        );
                    }
                }
                _ => {}
            }
        }
        let mut ack = ack.ok_or_else(|| MappingError::invalid("x12", "999 without AK1"))?;
        if let Some(c) = current {
            ack.sets.push(c);
        }
        if ack.code.is_empty() {
            return Err(MappingError::invalid("x12", "999 without AK9"));
        }
        Ok(ack)
    }

    /// Whether the group was accepted (AK901 `A` or `E`).
    pub fn accepted(&self) -> bool {
        matches!(self.code.as_str(), "A" | "E")
    }

    /// E.g. `999 for group 1 (HS): Rejected (R); transaction set 270 1234: Rejected (R):
    /// segment NM1 at position 8: Segment Has Data Element Errors (8)`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "999 for group {} ({}): {}",
            self.group_control_number,
            self.functional_id,
            GROUP_ACK.describe(&self.code)
        );
        for e in &self.errors {
            out.push_str("; ");
            out.push_str(e);
        }
        for s in &self.sets {
            out.push_str(&format!(
                "; transaction set {} {}: {}",
                s.set_id,
                s.control_number,
                SET_ACK.describe(&s.code)
            ));
            for e in &s.errors {
                out.push_str(": ");
                out.push_str(e);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::envelope::{Item, parse};

    const ISA: &str = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*FHIRGATE       *240101*1200*^*00501*000000002*0*T*:~";

    #[test]
    fn ta1_rejection_is_described() {
        let text = format!("{ISA}TA1*000000907*131031*1147*R*022~IEA*0*000000002~");
        let doc = parse(text.as_bytes()).expect("parses");
        let Item::InterchangeAck { ta1, .. } = &doc.items[0] else {
            panic!("TA1 expected");
        };
        let ack = InterchangeAck::from_segment(ta1).expect("ta1");
        assert!(!ack.accepted());
        assert_eq!(
            ack.describe(),
            "TA1 rejected interchange 000000907: Invalid Control Structure (022)"
        );
    }

    #[test]
    fn rejected_999_names_segment_and_element() {
        let text = format!(
            "{ISA}GS*FA*PAYER*FHIRGATE*20240101*1200*7*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HS*1*005010X279A1~AK2*270*1234*005010X279A1~IK3*NM1*8*2100*8~IK4*9*67*7*XX~IK5*R*5~AK9*R*1*1*0~SE*8*0001~GE*1*7~IEA*1*000000002~"
        );
        let doc = parse(text.as_bytes()).expect("parses");
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
        let set = doc.transactions().next().expect("999");
        let ack = ImplementationAck::from_transaction(set).expect("999");
        assert!(!ack.accepted());
        assert_eq!(ack.sets.len(), 1);
        assert_eq!(ack.sets[0].control_number, "1234");
        let d = ack.describe();
        assert!(
            d.starts_with(
                "999 for group 1 (HS): Rejected (R); transaction set 270 1234: Rejected (R)"
            ),
            "{d}"
        );
        assert!(
            d.contains("segment NM1 at position 8: Segment Has Data Element Errors (8)"),
            "{d}"
        );
        assert!(d.contains("element 9: Invalid Code Value (7)"), "{d}");
        assert!(d.contains("One or More Segments in Error (5)"), "{d}");
    }
}
