//! Patient → PID (the reverse of [`crate::hl7v2::inbound::patient`]; HL7 v2.5.1 ch. 3
//! §3.4.2): PID-3 identifiers (the FHIR id with the configured authority when there are
//! none), 5 names, 7 birth date (the `patient-birthTime` extension when present), 8 gender,
//! 11 addresses, 13 home and 14 work telecom, 16 marital status, 24/25 multiple birth, 29/30
//! death; a Patient without a name gets PID-5 `""` (the field is required). On an update (`update`), a field fhirgate maps but the Patient lacks is written as
//! `""` so the receiver deletes its value (v2.5.1 §2.5.3).

use serde_json::Value;

use super::datatypes::{bare_id, ce, ce_width, cx, xad, xpn, xtn};
use super::{Out, arr, s};
use crate::hl7v2::codes::{self, reverse};
use crate::hl7v2::time::fhir_to_dtm;
use crate::hl7v2::write::{NULL, SegmentWriter, reps};
use crate::hl7v2::{Related, WriteOptions};

/// One PID segment (text without terminator) for `patient`.
///
/// `opts` supplies the version and assigning authorities; an invalid version falls back to
/// 2.5.1.
pub fn patient_to_pid(patient: &Value, opts: &WriteOptions, update: bool) -> String {
    let related = Related::default();
    let fallback = WriteOptions {
        version: "2.5.1".into(),
        ..opts.clone()
    };
    match Out::new(opts, &related).or_else(|_| Out::new(&fallback, &related)) {
        Ok(out) => pid(patient, &out, update),
        Err(_) => String::from("PID|1"),
    }
}

/// PID for `patient` in the context of `out`.
pub fn pid(patient: &Value, out: &Out<'_>, update: bool) -> String {
    let mut w = SegmentWriter::new("PID");
    w.set(1, "1");
    let mut ids: Vec<String> = arr(patient, "identifier")
        .iter()
        .filter(|i| s(i, "system") != Some(crate::hl7v2::inbound::datatypes::US_SSN))
        .map(|i| cx(i, out))
        .collect();
    if ids.is_empty()
        && let Some(id) = s(patient, "id")
    {
        ids.push(bare_id(id, out, false));
    }
    w.set(3, reps(&ids));
    let ssn = arr(patient, "identifier")
        .iter()
        .find(|i| s(i, "system") == Some(crate::hl7v2::inbound::datatypes::US_SSN))
        .and_then(|i| s(i, "value"));
    w.text(19, ssn);
    let or_null = |v: String| {
        if v.is_empty() && update {
            NULL.to_owned()
        } else {
            v
        }
    };
    let names: Vec<String> = arr(patient, "name").iter().map(|n| xpn(n, out)).collect();
    // PID-5 is required: a Patient without a name gets `""` (explicitly none).
    let names = reps(&names);
    w.set(
        5,
        if names.is_empty() {
            NULL.to_owned()
        } else {
            names
        },
    );
    let birth = patient["_birthDate"]["extension"]
        .as_array()
        .and_then(|e| e.iter().find_map(|x| s(x, "valueDateTime")))
        .or_else(|| s(patient, "birthDate"))
        .and_then(|t| fhir_to_dtm(t).ok())
        .unwrap_or_default();
    w.set(7, or_null(birth));
    let gender = s(patient, "gender")
        .and_then(|g| reverse(codes::SEX, g))
        .unwrap_or_default();
    w.set(8, or_null(gender.to_owned()));
    let addresses: Vec<String> = arr(patient, "address").iter().map(xad).collect();
    w.set(11, or_null(reps(&addresses)));
    let (work, home): (Vec<&Value>, Vec<&Value>) = arr(patient, "telecom")
        .iter()
        .filter(|t| s(t, "value").is_some())
        .partition(|t| s(t, "use") == Some("work"));
    w.set(
        13,
        or_null(reps(&home.iter().map(|t| xtn(t, out)).collect::<Vec<_>>())),
    );
    w.set(
        14,
        reps(&work.iter().map(|t| xtn(t, out)).collect::<Vec<_>>()),
    );
    if let Some(m) = patient.get("maritalStatus") {
        w.set(16, ce(m, ce_width(out)));
    }
    if let Some(b) = patient.get("multipleBirthBoolean").and_then(Value::as_bool) {
        w.set(24, if b { "Y" } else { "N" });
    }
    if let Some(n) = patient.get("multipleBirthInteger").and_then(Value::as_u64) {
        w.set(24, "Y");
        w.set(25, n.to_string());
    }
    if let Some(t) = s(patient, "deceasedDateTime").and_then(|t| fhir_to_dtm(t).ok()) {
        w.set(29, t);
        w.set(30, "Y");
    } else if let Some(b) = patient.get("deceasedBoolean").and_then(Value::as_bool) {
        w.set(30, if b { "Y" } else { "N" });
    }
    w.finish()
}
