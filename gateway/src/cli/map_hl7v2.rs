//! `fhirgate map --from hl7v2 --to fhir [--timezone IANA]` and `fhirgate map --from fhir --to
//! hl7v2 [--event CODE]` (DESIGN.md "CLI"): the I/O around `fhirgate_mappings::hl7v2`.
//!
//! Reading HL7 v2: the input holds any number of messages; a segment starting with `MSH` or
//! a blank line ends the message before it. Segments may end in CR, LF or CRLF and a message
//! may start with a UTF-8 byte-order mark. Messages are read one at a time (bounded memory)
//! and every resource they map to becomes an entry of one `collection` Bundle, with the
//! `urn:uuid:` full URLs its references use.
//!
//! Writing HL7 v2: every Appointment and Encounter of the input (a resource or a Bundle of
//! any type) becomes one message, ending in CR; messages are separated by a blank line. The
//! other resources of a Bundle (Patient, Practitioner, Location …) fill PID, AIP, AIL, PV1.
//!
//! Exit 0: every message/resource mapped; 1: none (an OperationOutcome on stderr says why);
//! 3: some (the refused ones on stderr). Warnings go to stderr as `warning` issues.

use std::io::{self, BufRead, BufWriter, Read, Write};
use std::process::ExitCode;

use fhirgate_conformance::{Issue, IssueCode, operation_outcome};
use fhirgate_mappings::MappingError;
use fhirgate_mappings::hl7v2::{self, Context, Related, WriteOptions};
use serde_json::Value;

/// Largest single message read (a bigger one is refused and skipped).
const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Most issues listed; the rest are counted.
const MAX_ISSUES: usize = 1000;

#[derive(Default)]
struct Report {
    mapped: usize,
    refused: usize,
    issues: Vec<Issue>,
}

impl Report {
    fn push(&mut self, issue: Issue) {
        if self.issues.len() < MAX_ISSUES {
            self.issues.push(issue);
        }
    }

    fn refuse(&mut self, what: String, e: &str) {
        self.refused += 1;
        self.push(Issue::error(IssueCode::Invalid, format!("{what}: {e}")));
    }

    fn finish(mut self, nothing: &str) -> ExitCode {
        if self.mapped == 0 && self.refused == 0 {
            self.push(Issue::error(IssueCode::Required, nothing));
        }
        if self.refused > MAX_ISSUES {
            self.issues.push(Issue::error(
                IssueCode::Invalid,
                format!("{} refusals in all", self.refused),
            ));
        }
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

/// Splits a byte stream into messages (see the module docs), one at a time.
struct Messages<R> {
    input: R,
    current: Vec<u8>,
    segment: Vec<u8>,
    pending_cr: bool,
    oversized: bool,
    done: bool,
}

/// What [`Messages::next_message`] yields.
enum Item {
    Message(Vec<u8>),
    TooLarge,
    Stray,
}

impl<R: BufRead> Messages<R> {
    fn new(input: R) -> Self {
        Self {
            input,
            current: Vec::new(),
            segment: Vec::new(),
            pending_cr: false,
            oversized: false,
            done: false,
        }
    }

    /// Ends the segment in `self.segment`; returns a finished message when one ends here.
    fn end_segment(&mut self) -> Option<Item> {
        let seg = std::mem::take(&mut self.segment);
        let trimmed = seg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&seg);
        let trimmed = trimmed.strip_prefix(&[0x0B]).unwrap_or(trimmed);
        if trimmed
            .iter()
            .all(|b| b.is_ascii_whitespace() || *b == 0x1C)
        {
            return self.flush();
        }
        let starts = trimmed.starts_with(b"MSH");
        let out = if starts { self.flush() } else { None };
        if !starts && self.current.is_empty() && !self.oversized {
            return Some(Item::Stray);
        }
        if self.current.len() + seg.len() > MAX_MESSAGE_BYTES {
            self.oversized = true;
            self.current.clear();
        }
        if !self.oversized {
            self.current.extend_from_slice(&seg);
            self.current.push(b'\r');
        }
        out
    }

    fn flush(&mut self) -> Option<Item> {
        if self.oversized {
            self.oversized = false;
            self.current.clear();
            return Some(Item::TooLarge);
        }
        (!self.current.is_empty()).then(|| Item::Message(std::mem::take(&mut self.current)))
    }

    fn next_message(&mut self) -> io::Result<Option<Item>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let buf = self.input.fill_buf()?.to_vec();
            if buf.is_empty() {
                self.done = true;
                let last = if self.segment.is_empty() {
                    None
                } else {
                    self.end_segment()
                };
                return Ok(last.or_else(|| self.flush()));
            }
            let n = buf.len();
            let mut found = None;
            let mut used = 0;
            for (i, b) in buf.iter().enumerate() {
                used = i + 1;
                match b {
                    b'\n' if self.pending_cr => self.pending_cr = false,
                    b'\r' | b'\n' => {
                        self.pending_cr = *b == b'\r';
                        if let Some(item) = self.end_segment() {
                            found = Some(item);
                            break;
                        }
                    }
                    b => {
                        self.pending_cr = false;
                        if self.segment.len() <= MAX_MESSAGE_BYTES {
                            self.segment.push(*b);
                        }
                    }
                }
            }
            self.input.consume(used.min(n));
            if found.is_some() {
                return Ok(found);
            }
        }
    }
}

/// `--from hl7v2 --to fhir`.
pub fn to_fhir(input: impl BufRead, timezone: Option<&str>) -> ExitCode {
    let ctx = match Context::new(timezone) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fhirgate map: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut report = Report::default();
    let mut messages = Messages::new(input);
    let mut entries = 0usize;
    let mut index = 0usize;
    loop {
        let item = match messages.next_message() {
            Ok(Some(i)) => i,
            Ok(None) => break,
            Err(e) => {
                report.refuse("input".into(), &format!("read failed: {e}"));
                break;
            }
        };
        index += 1;
        let bytes = match item {
            Item::Message(b) => b,
            Item::TooLarge => {
                report.refuse(format!("message {index}"), "larger than 64 MiB");
                continue;
            }
            Item::Stray => {
                report.refuse(
                    format!("segment before message {index}"),
                    "not inside a message (no MSH before it)",
                );
                continue;
            }
        };
        let mapped = hl7v2::parse(&bytes).and_then(|m| {
            let id = m.control_id().unwrap_or_default();
            hl7v2::message_to_fhir(&m, &ctx).map(|r| (r, id))
        });
        match mapped {
            Ok((m, id)) => {
                report.mapped += 1;
                for w in m.warnings {
                    report.push(Issue::warning(
                        IssueCode::Informational,
                        format!("message {index} (MSH-10 {id}): {w}"),
                    ));
                }
                for r in m.resources {
                    let sep = if entries == 0 {
                        r#"{"resourceType":"Bundle","type":"collection","entry":["#
                    } else {
                        ","
                    };
                    entries += 1;
                    let entry = serde_json::json!({"fullUrl": r.full_url, "resource": r.resource});
                    if write!(out, "{sep}{entry}").is_err() {
                        return ExitCode::from(1);
                    }
                }
            }
            Err(e) => report.refuse(format!("message {index}"), &e.to_string()),
        }
    }
    if entries > 0 && writeln!(out, "]}}").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    report.finish("the input holds no HL7 v2 message")
}

/// `--from fhir --to hl7v2`.
pub fn from_fhir(mut input: impl Read, event: Option<&str>) -> ExitCode {
    let mut report = Report::default();
    let mut text = Vec::new();
    let parsed = input
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice::<Value>(&text).map_err(|e| format!("not JSON: {e}")));
    let root = match parsed {
        Ok(v) => v,
        Err(e) => {
            report.refuse("input".into(), &e);
            return report.finish("");
        }
    };
    let mut full_urls = Vec::new();
    let resources: Vec<&Value> = if root["resourceType"] == "Bundle" {
        let entries = root["entry"].as_array().map_or(&[][..], Vec::as_slice);
        for e in entries {
            if let Some(u) = e["fullUrl"].as_str() {
                full_urls.push((u.to_owned(), &e["resource"]));
            }
        }
        entries.iter().map(|e| &e["resource"]).collect()
    } else {
        vec![&root]
    };
    let opts = WriteOptions {
        event: event.map(str::to_owned),
        ..WriteOptions::default()
    };
    let mut out = BufWriter::new(io::stdout().lock());
    for (i, r) in resources.iter().enumerate() {
        let kind = r["resourceType"].as_str().unwrap_or("");
        if kind != "Appointment" && kind != "Encounter" {
            continue;
        }
        let related = related_for(r, &resources, &full_urls);
        let result: Result<_, MappingError> = match kind {
            "Appointment" => hl7v2::appointment_to_siu(r, &related, &opts),
            _ => hl7v2::encounter_to_adt(r, &related, &opts),
        };
        let what = format!("resource {} ({kind})", i + 1);
        match result {
            Ok(m) => {
                let sep = if report.mapped == 0 { "" } else { "\n" };
                report.mapped += 1;
                if writeln!(out, "{sep}{}", m.message).is_err() {
                    return ExitCode::from(1);
                }
                for w in m.warnings {
                    report.push(Issue::warning(
                        IssueCode::Informational,
                        format!("{what}: {w}"),
                    ));
                }
            }
            Err(e) => report.refuse(what, &e.to_string()),
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(1);
    }
    report.finish("the input holds no Appointment or Encounter")
}

/// The Patient the focus references (Encounter.subject, an Appointment participant) and
/// every other resource of the input.
fn related_for<'a>(
    focus: &Value,
    resources: &[&'a Value],
    full_urls: &'a [(String, &'a Value)],
) -> Related<'a> {
    let refs: Vec<&str> = std::iter::once(focus["subject"]["reference"].as_str())
        .chain(
            focus["participant"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["actor"]["reference"].as_str()),
        )
        .flatten()
        .collect();
    let patient = refs.iter().find_map(|r| {
        full_urls
            .iter()
            .find(|(u, v)| u == r && v["resourceType"] == "Patient")
            .map(|(_, v)| *v)
            .or_else(|| {
                let (ty, id) = r.rsplit_once('/')?;
                let ty = ty.rsplit('/').next()?;
                (ty == "Patient")
                    .then(|| {
                        resources
                            .iter()
                            .find(|v| v["resourceType"] == "Patient" && v["id"] == id)
                    })
                    .flatten()
                    .copied()
            })
    });
    Related {
        patient,
        others: resources.to_vec(),
        full_urls: full_urls.to_vec(),
    }
}
