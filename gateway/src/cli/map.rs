//! `fhirgate map --from FORMAT --to FORMAT [--patient ID] [--timezone IANA] [INPUT|-]`
//! (DESIGN.md "CLI"): the I/O around the pure conversions in `fhirgate_mappings::wearables`.
//!
//! `--to fhir` streams one `collection` Bundle to stdout, entry by entry, so a large input
//! maps in bounded memory. Exit 0: every reading mapped; 1: none (an OperationOutcome on
//! stderr says why, stdout stays empty); 3: some (the refused ones listed on stderr);
//! 2: a usage error. Warnings (e.g. Fitbit without a zone) go to stderr as an
//! OperationOutcome with `warning` issues.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::wearables::{Context, omh};
use serde_json::Value;

use crate::ingest::issue;
use crate::ingest::source::{Format, SourceError, map_reader};

/// Most refusals listed individually; the rest are counted in one last issue.
const MAX_ISSUES: usize = 1000;

/// The arguments of `fhirgate map`.
#[derive(Debug)]
pub struct MapArgs {
    /// `--from`.
    pub from: String,
    /// `--to`.
    pub to: String,
    /// `--patient`.
    pub patient: Option<String>,
    /// `--timezone`.
    pub timezone: Option<String>,
    /// `--event` (HL7 v2 trigger event for `--to hl7v2`).
    pub event: Option<String>,
    /// `INPUT` (`-` or absent: stdin).
    pub input: Option<String>,
}

fn usage(message: &str) -> ExitCode {
    eprintln!("fhirgate map: {message}");
    ExitCode::from(2)
}

fn open(input: Option<&str>) -> io::Result<Box<dyn BufRead>> {
    Ok(match input {
        None | Some("-") => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
        Some(path) => Box::new(BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(Path::new(path))?,
        )),
    })
}

/// Runs `fhirgate map`.
pub fn run(args: &MapArgs) -> ExitCode {
    let input = match open(args.input.as_deref()) {
        Ok(i) => i,
        Err(e) => {
            return usage(&format!(
                "cannot read {}: {e}",
                args.input.as_deref().unwrap_or("-")
            ));
        }
    };
    match (args.from.as_str(), args.to.as_str()) {
        ("fhir", "omh") => fhir_to_omh(input),
        // HL7 v2 (issue 9): see map_hl7v2.rs.
        ("hl7v2", "fhir") => super::map_hl7v2::to_fhir(input, args.timezone.as_deref()),
        ("fhir", "hl7v2") => super::map_hl7v2::from_fhir(input, args.event.as_deref()),
        // NCPDP SCRIPT 2017071 (issue 7): see map_ncpdp.rs.
        ("ncpdp", "fhir") => super::map_ncpdp::to_fhir(input, args.patient.as_deref()),
        ("fhir", "ncpdp") => super::map_ncpdp::from_fhir(input),
        // X12 270/271 eligibility (issue 8): see map_x12.rs.
        ("x12", "fhir") => super::map_x12::to_fhir(input),
        ("fhir", "x12") => super::map_x12::from_fhir(input),
        (from, "fhir") => {
            let format = match from.parse::<Format>() {
                Ok(f) => f,
                Err(e) => return usage(&format!("--from {from} --to fhir is not supported: {e}")),
            };
            let Some(patient) = args.patient.as_deref() else {
                return usage("--patient ID is required for omh, healthkit and fitbit to fhir");
            };
            if !fhirgate_adapters::interaction::is_valid_id(patient) {
                return usage("--patient must be a FHIR id");
            }
            let ctx = match Context::new(patient, args.timezone.as_deref()) {
                Ok(c) => c,
                Err(e) => return usage(&e.to_string()),
            };
            wearable_to_fhir(format, input, &ctx)
        }
        (from, to) => usage(&format!("--from {from} --to {to} is not supported")),
    }
}

/// Collects refusals and counts, and prints the OperationOutcome and exit code.
#[derive(Default)]
struct Tally {
    mapped: usize,
    refused: usize,
    issues: Vec<Issue>,
}

impl Tally {
    fn refuse(&mut self, issue: Issue) {
        self.refused += 1;
        if self.issues.len() < MAX_ISSUES {
            self.issues.push(issue);
        }
    }

    fn finish(mut self, warnings: Vec<String>) -> ExitCode {
        if self.refused > MAX_ISSUES {
            let more = self.refused - MAX_ISSUES;
            self.issues.push(Issue::error(
                IssueCode::Invalid,
                format!("{more} more readings refused"),
            ));
        }
        if self.mapped == 0 && self.refused == 0 {
            self.issues.push(Issue::error(
                IssueCode::Required,
                "the input holds no readings to map",
            ));
        }
        self.issues.extend(
            warnings
                .into_iter()
                .map(|w| Issue::warning(IssueCode::Informational, w)),
        );
        if !self.issues.is_empty() {
            eprintln!("{}", operation_outcome(&self.issues));
        }
        match (self.mapped, self.refused) {
            (0, _) => ExitCode::from(1),
            (_, 0) => ExitCode::SUCCESS,
            _ => ExitCode::from(3),
        }
    }
}

fn wearable_to_fhir(format: Format, input: impl BufRead, ctx: &Context) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    let mut index = 0;
    let result = map_reader(format, input, ctx, |item| {
        let i = index;
        index += 1;
        match item {
            Ok(obs) => {
                let sep = if tally.mapped == 0 {
                    r#"{"resourceType":"Bundle","type":"collection","entry":["#
                } else {
                    ","
                };
                tally.mapped += 1;
                write!(out, "{sep}{{\"resource\":{obs}}}").map_err(|e| e.to_string())
            }
            Err(e) => {
                tally.refuse(issue::refused(i, &e));
                Ok(())
            }
        }
    });
    let warnings = match result {
        Ok(w) => w,
        Err(SourceError::Mapping(e)) => {
            tally.refuse(Issue::error(issue::code_of(&e), e.to_string()));
            Vec::new()
        }
        Err(SourceError::Sink(e)) => {
            eprintln!("fhirgate map: {e}");
            return ExitCode::from(1);
        }
    };
    if tally.mapped > 0 && writeln!(out, "]}}").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    tally.finish(warnings)
}

/// Observations of a resource or a Bundle of any type → a JSON array of OMH data points.
fn fhir_to_omh(mut input: impl Read) -> ExitCode {
    let mut tally = Tally::default();
    let mut text = Vec::new();
    let parsed = input
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice::<Value>(&text).map_err(|e| format!("not JSON: {e}")));
    let resource = match parsed {
        Ok(v) => v,
        Err(e) => {
            tally.refuse(Issue::error(IssueCode::Structure, e));
            return tally.finish(Vec::new());
        }
    };
    let resources: Vec<&Value> = if resource["resourceType"] == "Bundle" {
        resource["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .collect()
    } else {
        vec![&resource]
    };
    let mut points = Vec::new();
    for (i, r) in resources.into_iter().enumerate() {
        match omh::observation_to_data_point(r) {
            Ok(p) => {
                tally.mapped += 1;
                points.push(p);
            }
            Err(e) => tally.refuse(issue::refused(i, &e)),
        }
    }
    if tally.mapped > 0 {
        println!("{}", Value::Array(points));
    }
    tally.finish(Vec::new())
}
