//! `fhirgate map --from x12 --to fhir` and `fhirgate map --from fhir --to x12` (DESIGN.md
//! "CLI", issue 8): the I/O around `fhirgate_mappings::x12`.
//!
//! `--from x12`: the input holds one or more interchanges (any delimiters, one line or one
//! segment per line), read one transaction set at a time. Every 270 and 271 becomes FHIR
//! resources (CoverageEligibilityRequest or CoverageEligibilityResponse with the Coverage,
//! Patient, Organization and provider they describe) in one `collection` Bundle on stdout.
//! Other transaction sets are refused (listed on stderr); TA1 and 999 acknowledgments and
//! envelope count/control-number mismatches are reported on stderr as warnings (rejecting
//! acknowledgments as errors).
//!
//! `--to x12`: the input is a resource or a Bundle holding a CoverageEligibilityRequest
//! with what it references (→ 270) or a CoverageEligibilityResponse with its patient,
//! insurer, requestor and Coverage (→ 271). One interchange is written, one segment per
//! line, with fresh control numbers.
//!
//! Exit 0: everything mapped; 1: nothing (an OperationOutcome on stderr says why); 3: some
//! transaction sets refused (listed on stderr).

use std::io::{BufRead, BufWriter, Read, Write};
use std::process::ExitCode;

use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::x12::ack::{ImplementationAck, InterchangeAck};
use fhirgate_mappings::x12::eligibility::{
    self, InquiryControl, eligibility_to_fhir, fhir_to_eligibility,
};
use fhirgate_mappings::x12::{InterchangeSpec, Item, Reader, civil_date_time, write_interchange};
use serde_json::{Value, json};

/// Largest FHIR input read for `--to x12` (a Bundle of a few resources).
const MAX_INPUT_BYTES: u64 = 16 << 20;

fn finish(mapped: usize, refused: usize, mut issues: Vec<Issue>) -> ExitCode {
    if mapped == 0 && refused == 0 {
        issues.push(Issue::error(
            IssueCode::Required,
            "the input holds no 270 or 271 to map",
        ));
    }
    if !issues.is_empty() {
        eprintln!("{}", operation_outcome(&issues));
    }
    match (mapped, refused) {
        (0, _) => ExitCode::from(1),
        (_, 0) => ExitCode::SUCCESS,
        _ => ExitCode::from(3),
    }
}

/// X12 → one `collection` Bundle, streamed entry by entry.
pub fn to_fhir(input: impl BufRead) -> ExitCode {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut reader = Reader::new(input);
    let (mut mapped, mut refused, mut issues) = (0usize, 0usize, Vec::new());
    let mut write_entry = |url: &str, resource: &Value, first: bool| -> std::io::Result<()> {
        let sep = if first {
            r#"{"resourceType":"Bundle","type":"collection","entry":["#
        } else {
            ","
        };
        write!(
            out,
            "{sep}{}",
            json!({"fullUrl": url, "resource": resource})
        )
    };
    let mut written = 0usize;
    for item in reader.by_ref() {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                refused += 1;
                issues.push(Issue::error(IssueCode::Structure, e.to_string()));
                break;
            }
        };
        let set = match item {
            Item::InterchangeAck { ta1, .. } => {
                match InterchangeAck::from_segment(&ta1) {
                    Ok(a) if a.accepted() => {
                        issues.push(Issue::warning(IssueCode::Informational, a.describe()))
                    }
                    Ok(a) => issues.push(Issue::error(IssueCode::Processing, a.describe())),
                    Err(e) => issues.push(Issue::error(IssueCode::Structure, e.to_string())),
                }
                continue;
            }
            Item::Transaction(t) => t,
        };
        let at = format!(
            "transaction set {} at segment {}",
            set.control_number(),
            set.position
        );
        match set.id() {
            "999" => match ImplementationAck::from_transaction(&set) {
                Ok(a) if a.accepted() => {
                    issues.push(Issue::warning(IssueCode::Informational, a.describe()))
                }
                Ok(a) => issues.push(Issue::error(IssueCode::Processing, a.describe())),
                Err(e) => issues.push(Issue::error(IssueCode::Structure, format!("{at}: {e}"))),
            },
            "270" | "271" => {
                let entries = eligibility::read(&set).and_then(|all| {
                    all.iter()
                        .map(eligibility_to_fhir)
                        .collect::<Result<Vec<_>, _>>()
                });
                match entries {
                    Ok(all) => {
                        for (url, resource) in all.iter().flatten() {
                            if write_entry(url, resource, written == 0).is_err() {
                                return ExitCode::from(1);
                            }
                            written += 1;
                        }
                        mapped += 1;
                    }
                    Err(e) => {
                        refused += 1;
                        issues.push(Issue::error(IssueCode::Invalid, format!("{at}: {e}")));
                    }
                }
            }
            other => {
                refused += 1;
                issues.push(Issue::error(
                    IssueCode::NotSupported,
                    format!("{at}: a {other} is not mapped (only 270 and 271)"),
                ));
            }
        }
    }
    issues.extend(
        reader
            .warnings()
            .iter()
            .map(|w| Issue::warning(IssueCode::Informational, w.clone())),
    );
    if written > 0 && writeln!(out, "]}}").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    if written == 0 && mapped > 0 {
        // Mapped sets that produce no resource cannot happen; keep stdout valid anyway.
        let _ = writeln!(out, r#"{{"resourceType":"Bundle","type":"collection"}}"#);
    }
    finish(mapped, refused, issues)
}

/// A resource or Bundle → one interchange (270 or 271).
pub fn from_fhir(input: impl Read) -> ExitCode {
    let mut bytes = Vec::new();
    if let Err(e) = input.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes) {
        return finish(
            0,
            1,
            vec![Issue::error(
                IssueCode::Exception,
                format!("cannot read the input: {e}"),
            )],
        );
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return finish(
            0,
            1,
            vec![Issue::error(
                IssueCode::TooLong,
                "the input is larger than 16 MiB",
            )],
        );
    }
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return finish(
                0,
                1,
                vec![Issue::error(IssueCode::Structure, format!("not JSON: {e}"))],
            );
        }
    };
    let t = time::OffsetDateTime::now_utc();
    let Some(created) =
        civil_date_time(t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
    else {
        return finish(
            0,
            1,
            vec![Issue::error(
                IssueCode::Exception,
                "the clock reads no valid date",
            )],
        );
    };
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let control = InquiryControl {
        reference: trace[..20].to_owned(),
        trace_number: trace.clone(),
        originator: "9FHIRGATE0".into(),
        created,
    };
    let written = fhir_to_eligibility(&value, &control).and_then(|e| {
        let answer = e.transaction == "271";
        let (us, them) = if answer {
            ("PAYER", "FHIRGATE")
        } else {
            ("FHIRGATE", "PAYER")
        };
        let spec = InterchangeSpec {
            sender_qualifier: "ZZ".into(),
            sender_id: us.into(),
            receiver_qualifier: "ZZ".into(),
            receiver_id: them.into(),
            created,
            control_number: u32::try_from(uuid::Uuid::new_v4().as_u128() % 999_999_999)
                .unwrap_or(0)
                + 1,
            usage: 'T',
            acknowledgment_requested: false,
            functional_id: if answer { "HB" } else { "HS" }.into(),
            application_sender: us.into(),
            application_receiver: them.into(),
            version: eligibility::VERSION.into(),
            line_breaks: true,
        };
        let set = eligibility::write(&e, "0001")?;
        write_interchange(&spec, &[set])
    });
    match written {
        Ok(x12) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&x12).and_then(|()| out.flush()).is_err() {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => finish(0, 1, vec![Issue::error(IssueCode::Invalid, e.to_string())]),
    }
}
