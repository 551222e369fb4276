//! `fhirgate map --from ncpdp --to fhir [--patient ID]` and `fhirgate map --from fhir --to
//! ncpdp` (DESIGN.md "CLI"): the I/O around `fhirgate_mappings::ncpdp`.
//!
//! `--from ncpdp`: the input holds one SCRIPT 2017071 message (any transaction); its
//! resources become one `collection` Bundle on stdout (relative references between them,
//! ids derived from the MessageID). `--patient ID` names the patient instead of creating a
//! Patient from the message.
//!
//! `--to ncpdp`: the input holds one MedicationRequest (a Bundle with the resources it
//! references, or a MedicationRequest with contained resources) → NewRx, or CancelRx when
//! its status is `cancelled`/`stopped`; or one MedicationDispense with the MedicationRequest
//! it fills → RxFill. One SCRIPT `Message` is written to stdout with a fresh MessageID and
//! the current time; a controlled substance is mapped with a warning (sending it needs EPCS).
//!
//! Exit 0: mapped (warnings, if any, on stderr); 1: refused — an OperationOutcome on stderr
//! names why, one issue per element SCRIPT requires that is missing; 2: usage error. Only
//! one message is read or written, so exit 3 (partly mapped) does not occur.

use std::io::{Read, Write};
use std::process::ExitCode;

use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::MappingError;
use fhirgate_mappings::ncpdp::{
    self, Header, InboundContext, Prescription, ScheduledIngredients, controlled_substance,
    medication_dispense_to_rx_fill, medication_request_to_cancel_rx, medication_request_to_new_rx,
    missing_new_rx_elements,
};
use serde_json::{Value, json};

/// Largest input read (a SCRIPT message or a prescription Bundle is kilobytes).
const MAX_INPUT_BYTES: u64 = 16 << 20;

fn read_all(input: impl Read) -> Result<Vec<u8>, Issue> {
    let mut bytes = Vec::new();
    input
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Issue::error(IssueCode::Exception, format!("cannot read the input: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Issue::error(
            IssueCode::TooLong,
            "the input is larger than 16 MiB",
        ));
    }
    Ok(bytes)
}

fn fail(issues: &[Issue]) -> ExitCode {
    eprintln!("{}", operation_outcome(issues));
    ExitCode::from(1)
}

fn mapping_issue(e: &MappingError) -> Issue {
    let code = match e {
        MappingError::Xml { .. } => IssueCode::Structure,
        MappingError::UnsupportedVersion { .. } => IssueCode::NotSupported,
        MappingError::MissingElements { .. } => IssueCode::Required,
        _ => IssueCode::Invalid,
    };
    Issue::error(code, e.to_string())
}

/// SCRIPT message → one collection Bundle.
pub fn to_fhir(input: impl Read, patient: Option<&str>) -> ExitCode {
    let bytes = match read_all(input) {
        Ok(b) => b,
        Err(issue) => return fail(&[issue]),
    };
    if patient.is_some_and(|p| !fhirgate_adapters::interaction::is_valid_id(p)) {
        eprintln!("fhirgate map: --patient must be a FHIR id");
        return ExitCode::from(2);
    }
    let ctx = InboundContext {
        patient: patient.map(|p| format!("Patient/{p}")),
        ..InboundContext::default()
    };
    let resources =
        match ncpdp::parse_message(&bytes).and_then(|m| ncpdp::message_to_fhir(&m, &ctx)) {
            Ok(r) => r,
            Err(e) => return fail(&[mapping_issue(&e)]),
        };
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({ "resource": r }))
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{bundle}")
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn now() -> String {
    let t = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The header of a message fhirgate writes for `p`: `To` = the pharmacy's NCPDP ID,
/// `PrescriberOrderNumber` = the MedicationRequest's first identifier (else its id).
fn header(p: &Prescription) -> Header {
    let mr = &p.medication_request;
    let ncpdp_id =
        ncpdp::codes::identifier(&p.pharmacy, ncpdp::codes::NCPDP_ID).unwrap_or_default();
    Header {
        message_id: uuid::Uuid::new_v4().simple().to_string(),
        sent_time: now(),
        to_ncpdp_id: ncpdp_id.to_owned(),
        from_id: "fhirgate".to_owned(),
        prescriber_order_number: mr["identifier"][0]["value"]
            .as_str()
            .or(mr["id"].as_str())
            .map(str::to_owned),
        ..Header::default()
    }
}

fn resources_of(input: &Value) -> Vec<&Value> {
    if input["resourceType"] == "Bundle" {
        input["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .collect()
    } else {
        vec![input]
    }
}

/// One MedicationRequest or MedicationDispense (with what it references) → one SCRIPT
/// message.
pub fn from_fhir(input: impl Read) -> ExitCode {
    let bytes = match read_all(input) {
        Ok(b) => b,
        Err(issue) => return fail(&[issue]),
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(&[Issue::error(IssueCode::Structure, format!("not JSON: {e}"))]),
    };
    let dispenses: Vec<&Value> = resources_of(&value)
        .into_iter()
        .filter(|r| r["resourceType"] == "MedicationDispense")
        .collect();
    if dispenses.len() > 1 {
        return fail(&[Issue::error(
            IssueCode::Invalid,
            "the input holds more than one MedicationDispense; map one at a time",
        )]);
    }
    let p = match Prescription::from_bundle(&value) {
        Ok(p) => p,
        Err(e) => return fail(&[mapping_issue(&e)]),
    };
    let missing = missing_new_rx_elements(&p);
    if !missing.is_empty() {
        let issues: Vec<Issue> = missing
            .iter()
            .map(|m| {
                Issue::error(IssueCode::Required, format!("{}: {}", m.path, m.reason))
                    .at(m.path.clone())
            })
            .collect();
        return fail(&issues);
    }
    let h = header(&p);
    let status = p.medication_request["status"].as_str().unwrap_or("");
    let result = match dispenses.first() {
        Some(d) => medication_dispense_to_rx_fill(
            d,
            &p,
            &Header {
                to_ncpdp_id: h.from_id.clone(),
                from_id: h.to_ncpdp_id.clone(),
                ..h
            },
        ),
        None if matches!(status, "cancelled" | "stopped") => {
            medication_request_to_cancel_rx(&p, &h)
        }
        None => medication_request_to_new_rx(&p, &h),
    };
    let xml = match result {
        Ok(x) => x,
        Err(e) => return fail(&[mapping_issue(&e)]),
    };
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{xml}").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    if let Some(reason) = controlled_substance(&p, &ScheduledIngredients::default()) {
        let w = Issue::warning(
            IssueCode::Informational,
            format!("{reason}: sending it needs EPCS signing, which fhirgate does not do"),
        );
        eprintln!("{}", operation_outcome(&[w]));
    }
    ExitCode::SUCCESS
}
