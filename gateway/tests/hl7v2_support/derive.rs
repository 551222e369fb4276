//! Variant messages derived from the HL7 v2 fixtures: a field or a segment replaced, the
//! A08 fixture with another PID or PV1.

use crate::support::fixture;

/// The A08 fixture's PID (PID-13, PID-14 and PID-16 empty).
pub const PID: &str = "PID|1||151||Bond^Tiny||19990723|M|||8388 Secret Agent Way^^Raleigh^NC^27677|||||||151||||||||||||N";

/// A fixture under `tests/fixtures` as text.
pub fn text(rel: &str) -> String {
    String::from_utf8(fixture(rel)).expect("utf-8 fixture")
}

/// The A08 fixture with its PID replaced by `pid` and MSH-10 by `control_id`.
pub fn a08(pid: &str, control_id: &str) -> String {
    text("hl7v2/ADT_A08_v2.3_update_patient.hl7")
        .split('\r')
        .map(|seg| {
            if seg.starts_with("PID|") {
                pid.to_owned()
            } else {
                seg.replace("|8899-39|", &format!("|{control_id}|"))
            }
        })
        .collect::<Vec<_>>()
        .join("\r")
}

/// A PV1 segment with `fields` (`(number, value)`) and the others empty.
pub fn pv1(fields: &[(usize, &str)]) -> String {
    let mut f = vec![String::new(); 46];
    f[0] = "PV1".into();
    for (n, v) in fields {
        f[*n] = (*v).to_owned();
    }
    f.join("|")
}

/// `message` with its PV1 replaced by `segment`.
pub fn with_pv1(message: &str, segment: &str) -> String {
    message
        .split('\r')
        .map(|s| if s.starts_with("PV1|") { segment } else { s })
        .collect::<Vec<_>>()
        .join("\r")
}

/// `message` with field `n` of every `seg` segment (not MSH) set to `value`.
pub fn set_field(message: &str, seg: &str, n: usize, value: &str) -> String {
    message
        .split('\r')
        .map(|s| {
            if !s.starts_with(&format!("{seg}|")) {
                return s.to_owned();
            }
            let mut f: Vec<String> = s.split('|').map(str::to_owned).collect();
            if f.len() <= n {
                f.resize(n + 1, String::new());
            }
            f[n] = value.to_owned();
            f.join("|")
        })
        .collect::<Vec<_>>()
        .join("\r")
}

/// `message` without its `seg` segments.
pub fn without(message: &str, seg: &str) -> String {
    message
        .split('\r')
        .filter(|s| !s.starts_with(&format!("{seg}|")))
        .collect::<Vec<_>>()
        .join("\r")
}
