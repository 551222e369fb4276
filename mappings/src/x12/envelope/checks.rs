//! Envelope checks (ASC X12.5/X12.6): fixed ISA lengths, matching GS08/ST03 and GS01/ST01,
//! and the error of an envelope left open at the end of the input.

use super::GroupHeader;
use crate::MappingError;
use crate::x12::syntax::Segment;

pub(super) fn unclosed(what: &str, control: &str, trailer: &str) -> MappingError {
    MappingError::invalid(
        "x12",
        format!("the input ends inside {what} {control:?} (no {trailer})"),
    )
}

/// ISA fixed lengths (X12.5: ISA06/ISA08 are 15 characters, ISA13 is 9 digits).
pub(super) fn check_isa(isa: &Segment, warnings: &mut Vec<String>) {
    for (n, len) in [(6, 15), (8, 15)] {
        if isa.get(n).len() != len {
            warnings.push(format!(
                "ISA{n:02} is {} characters long, not {len}",
                isa.get(n).len()
            ));
        }
    }
    let ctl = isa.get(13);
    if ctl.len() != 9 || !ctl.bytes().all(|b| b.is_ascii_digit()) {
        warnings.push(format!("ISA13 {ctl:?} is not 9 digits"));
    }
}

/// GS08 and ST03 name the same implementation guide; GS01 fits ST01.
pub(super) fn check_version(group: &GroupHeader, st: &Segment, warnings: &mut Vec<String>) {
    let (gs08, st03) = (group.gs.get(8), st.get(3));
    if !st03.is_empty() && gs08 != st03 {
        warnings.push(format!(
            "transaction set {}: ST03 {st03:?} differs from GS08 {gs08:?}",
            st.get(2)
        ));
    }
    let expected = match st.get(1) {
        "270" => "HS",
        "271" => "HB",
        "999" => "FA",
        "837" => "HC",
        "835" => "HP",
        "276" => "HR",
        "277" => "HN",
        _ => return,
    };
    if group.gs.get(1) != expected {
        warnings.push(format!(
            "transaction set {}: a {} belongs in a GS01 {expected} group, not {:?}",
            st.get(2),
            st.get(1),
            group.gs.get(1)
        ));
    }
}
