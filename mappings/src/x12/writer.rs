//! Writing interchanges (ASC X12.5 / X12.6, 005010): ISA/GS/ST…SE/GE/IEA around the
//! transaction sets a mapping produced, with counts and control numbers filled in and
//! delimiters chosen so that no value contains one.

use jiff::civil::DateTime;

use super::syntax::{Delimiters, Segment};
use crate::MappingError;

/// The envelope values of one outgoing interchange with one functional group.
#[derive(Debug, Clone)]
pub struct InterchangeSpec {
    /// ISA05 sender id qualifier, e.g. `ZZ` (mutually defined) or `30` (federal tax id).
    pub sender_qualifier: String,
    /// ISA06 sender id (padded to 15 characters here).
    pub sender_id: String,
    /// ISA07 receiver id qualifier.
    pub receiver_qualifier: String,
    /// ISA08 receiver id (padded to 15 characters here).
    pub receiver_id: String,
    /// ISA09/ISA10 and GS04/GS05: when the interchange was created.
    pub created: DateTime,
    /// ISA13 and GS06 control numbers (1 to 999999999).
    pub control_number: u32,
    /// ISA15: `P` production or `T` test.
    pub usage: char,
    /// ISA14: ask the receiver for a TA1.
    pub acknowledgment_requested: bool,
    /// GS01 functional identifier code, e.g. `HS` (270) or `HB` (271).
    pub functional_id: String,
    /// GS02 application sender code.
    pub application_sender: String,
    /// GS03 application receiver code.
    pub application_receiver: String,
    /// GS08 and ST03 implementation convention, e.g. `005010X279A1`.
    pub version: String,
    /// Put a line feed after each segment terminator (readable files; the wire omits it).
    pub line_breaks: bool,
}

/// A civil (zone-less) date-time for [`InterchangeSpec::created`] and the eligibility
/// controls, from calendar parts; `None` when they name no real date and time.
pub fn civil_date_time(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> Option<DateTime> {
    DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        0,
        0,
    )
    .ok()
}

/// A transaction set `ST*{id}*{control}*{version}` … `SE*{count}*{control}` around `body`.
pub fn transaction_set(id: &str, control: &str, version: &str, body: Vec<Segment>) -> Vec<Segment> {
    let count = (body.len() + 2).to_string();
    let mut out = Vec::with_capacity(body.len() + 2);
    out.push(Segment::new("ST", &[id, control, version]));
    out.extend(body);
    out.push(Segment::new("SE", &[&count, control]));
    out
}

fn pad(value: &str, width: usize) -> String {
    format!("{value:<width$}")
}

/// Writes one interchange holding `sets` (each a full ST…SE list) in one functional group.
///
/// Errors: an identifier longer than its ISA field, a control number out of range, or
/// values that contain every candidate delimiter.
pub fn write_interchange(
    spec: &InterchangeSpec,
    sets: &[Vec<Segment>],
) -> Result<Vec<u8>, MappingError> {
    for (name, value, max) in [
        ("ISA06 sender id", &spec.sender_id, 15),
        ("ISA08 receiver id", &spec.receiver_id, 15),
        ("ISA05 qualifier", &spec.sender_qualifier, 2),
        ("ISA07 qualifier", &spec.receiver_qualifier, 2),
    ] {
        if value.is_empty() || value.len() > max {
            return Err(MappingError::invalid(
                "x12",
                format!("{name} must be 1 to {max} characters"),
            ));
        }
    }
    if !(1..=999_999_999).contains(&spec.control_number) {
        return Err(MappingError::invalid(
            "x12",
            "control numbers run from 1 to 999999999",
        ));
    }
    let ctl = format!("{:09}", spec.control_number);
    let gs_ctl = spec.control_number.to_string();
    let date = spec.created.strftime("%Y%m%d").to_string();
    let time = spec.created.strftime("%H%M").to_string();
    let gs = Segment::new(
        "GS",
        &[
            &spec.functional_id,
            &spec.application_sender,
            &spec.application_receiver,
            &date,
            &time,
            &gs_ctl,
            "X",
            &spec.version,
        ],
    );
    let ge = Segment::new("GE", &[&sets.len().to_string(), &gs_ctl]);
    let iea = Segment::new("IEA", &["1", &ctl]);
    let mut values: Vec<&str> = gs.values().chain(ge.values()).collect();
    values.extend(sets.iter().flatten().flat_map(Segment::values));
    values.extend([spec.sender_id.as_str(), spec.receiver_id.as_str()]);
    let d = Delimiters::choose(values.iter().copied())?;
    let repetition = d.repetition.map(char::from).unwrap_or('U').to_string();
    let isa = Segment::new(
        "ISA",
        &[
            "00",
            &pad("", 10),
            "00",
            &pad("", 10),
            &spec.sender_qualifier,
            &pad(&spec.sender_id, 15),
            &spec.receiver_qualifier,
            &pad(&spec.receiver_id, 15),
            &date[2..],
            &time,
            &repetition,
            "00501",
            &ctl,
            if spec.acknowledgment_requested {
                "1"
            } else {
                "0"
            },
            &spec.usage.to_string(),
            &char::from(d.component).to_string(),
        ],
    );
    let mut out = Vec::with_capacity(128 + sets.iter().map(Vec::len).sum::<usize>() * 40);
    let put = |s: &Segment, out: &mut Vec<u8>| -> Result<(), MappingError> {
        s.write(&d, out)?;
        if spec.line_breaks {
            out.push(b'\n');
        }
        Ok(())
    };
    put(&isa, &mut out)?;
    put(&gs, &mut out)?;
    for segment in sets.iter().flatten() {
        put(segment, &mut out)?;
    }
    put(&ge, &mut out)?;
    put(&iea, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::envelope::parse;

    fn spec() -> InterchangeSpec {
        InterchangeSpec {
            sender_qualifier: "ZZ".into(),
            sender_id: "FHIRGATE".into(),
            receiver_qualifier: "ZZ".into(),
            receiver_id: "PAYER".into(),
            created: jiff::civil::date(2024, 3, 5).at(9, 7, 0, 0),
            control_number: 42,
            usage: 'T',
            acknowledgment_requested: false,
            functional_id: "HS".into(),
            application_sender: "FHIRGATE".into(),
            application_receiver: "PAYER".into(),
            version: "005010X279A1".into(),
            line_breaks: false,
        }
    }

    #[test]
    fn written_interchange_reads_back_without_warnings() {
        let set = transaction_set(
            "270",
            "0001",
            "005010X279A1",
            vec![Segment::new(
                "BHT",
                &["0022", "13", "X", "20240305", "0907"],
            )],
        );
        let bytes = write_interchange(&spec(), &[set]).expect("writes");
        let text = String::from_utf8(bytes.clone()).expect("ascii");
        assert_eq!(
            text.find("GS").expect("gs"),
            106,
            "ISA is 106 characters: {text}"
        );
        assert!(text.starts_with("ISA*00*          *00*          *ZZ*FHIRGATE       *ZZ*PAYER          *240305*0907*^*00501*000000042*0*T*:~GS*HS*"));
        assert!(
            text.ends_with("SE*3*0001~GE*1*42~IEA*1*000000042~"),
            "{text}"
        );
        let doc = parse(&bytes).expect("parses");
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
        assert_eq!(doc.transactions().count(), 1);
    }

    #[test]
    fn values_with_a_star_switch_the_delimiters() {
        let set = transaction_set(
            "270",
            "0001",
            "005010X279A1",
            vec![Segment::new("NM1", &["IL", "1", "O*NEIL"])],
        );
        let bytes = write_interchange(&spec(), &[set]).expect("writes");
        let doc = parse(&bytes).expect("parses");
        let t = doc.transactions().next().expect("set");
        assert_eq!(t.body[0].get(3), "O*NEIL");
        assert_eq!(t.interchange.delimiters.element, b'|');
    }
}
