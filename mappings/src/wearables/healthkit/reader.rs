//! Streaming reader over an `export.xml`: an [`Iterator`] of one Observation (or refusal)
//! per mapped record, holding only the current element in memory (plus the records of an
//! open blood-pressure correlation). Truncated or malformed XML ends the iteration with a
//! [`MappingError::Xml`] naming the byte position.

use std::collections::BTreeMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use serde_json::Value;

use super::record::{self, BP, HkRecord};
use crate::MappingError;
use crate::wearables::Context;
use crate::wearables::observation::to_observation;

/// Pull reader turning `export.xml` records into Observations for [`Context::subject`].
pub struct ExportReader<R: BufRead> {
    xml: quick_xml::Reader<R>,
    buf: Vec<u8>,
    skip_buf: Vec<u8>,
    ctx: Context,
    depth: usize,
    root_closed: bool,
    done: bool,
    correlation: Option<(HkRecord, Vec<HkRecord>)>,
    skipped: BTreeMap<String, u64>,
}

impl<R: BufRead> ExportReader<R> {
    /// A reader over `input` (any `BufRead`: a file, stdin, a request body bridge).
    pub fn new(input: R, ctx: Context) -> Self {
        Self {
            xml: quick_xml::Reader::from_reader(input),
            buf: Vec::with_capacity(4096),
            skip_buf: Vec::new(),
            ctx,
            depth: 0,
            root_closed: false,
            done: false,
            correlation: None,
            skipped: BTreeMap::new(),
        }
    }

    /// Warnings so far: how many elements of which unmapped types were skipped.
    pub fn warnings(&self) -> Vec<String> {
        if self.skipped.is_empty() {
            return Vec::new();
        }
        let list: Vec<String> = self
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        vec![format!(
            "healthkit elements not mapped (outside the mapped measures): {}",
            list.join(", ")
        )]
    }

    fn xml_error(&mut self, detail: impl Into<String>) -> Option<Result<Value, MappingError>> {
        self.done = true;
        Some(Err(MappingError::Xml {
            format: "healthkit",
            position: self.xml.buffer_position(),
            detail: detail.into(),
        }))
    }

    fn skip(&mut self, what: String) {
        *self.skipped.entry(what).or_default() += 1;
    }

    fn map(&mut self, rec: &HkRecord) -> Option<Result<Value, MappingError>> {
        if rec.kind == record::SYSTOLIC || rec.kind == record::DIASTOLIC {
            // Also inside their correlation, which is what we map.
            return None;
        }
        match record::record_to_reading(rec) {
            Ok(Some(r)) => Some(Ok(to_observation(&r, &self.ctx.subject))),
            Ok(None) => {
                let what = if rec.kind == record::SLEEP {
                    format!("{} {}", rec.kind, rec.value)
                } else {
                    rec.kind.clone()
                };
                self.skip(what);
                None
            }
            Err(e) => Some(Err(e)),
        }
    }
}

fn attributes(e: &BytesStart<'_>) -> Result<HkRecord, String> {
    let mut rec = HkRecord::default();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let slot = match a.key.as_ref() {
            b"type" => &mut rec.kind,
            b"unit" => &mut rec.unit,
            b"value" => &mut rec.value,
            b"startDate" => &mut rec.start,
            b"endDate" => &mut rec.end,
            b"sourceName" => &mut rec.source_name,
            b"device" => &mut rec.device,
            _ => continue,
        };
        *slot = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
    }
    Ok(rec)
}

impl<R: BufRead> Iterator for ExportReader<R> {
    type Item = Result<Value, MappingError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            // The event borrows a buffer taken out of `self`, so `step` may use `self`.
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let step = match self.xml.read_event_into(&mut buf) {
                Ok(event) => self.step(event),
                Err(e) => Some(self.xml_error(e.to_string())),
            };
            self.buf = buf;
            if let Some(out) = step {
                return out;
            }
        }
        None
    }
}

impl<R: BufRead> ExportReader<R> {
    /// Handles one event: `Some(item)` to yield it, `None` to read on.
    fn step(&mut self, event: Event<'_>) -> Option<Option<Result<Value, MappingError>>> {
        let level = self.depth + 1;
        match event {
            Event::Start(e) | Event::Empty(e)
                if level == 1 && e.name().as_ref() != b"HealthData" =>
            {
                return Some(self.xml_error("the root element is not HealthData"));
            }
            Event::Start(_) if level == 1 => {
                self.depth = 1;
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if level == 3 && self.correlation.is_some() && e.name().as_ref() == b"Record" =>
            {
                let rec = match attributes(e) {
                    Ok(r) => r,
                    Err(d) => return Some(self.xml_error(d)),
                };
                if let Some((_, parts)) = self.correlation.as_mut() {
                    parts.push(rec);
                }
                if matches!(event, Event::Start(_)) {
                    self.skip_buf.clear();
                    if let Err(err) = self.xml.read_to_end_into(e.name(), &mut self.skip_buf) {
                        return Some(self.xml_error(err.to_string()));
                    }
                }
            }
            Event::Start(e) if level == 2 && e.name().as_ref() == b"Correlation" => {
                let rec = match attributes(&e) {
                    Ok(r) => r,
                    Err(d) => return Some(self.xml_error(d)),
                };
                if rec.kind == BP {
                    self.correlation = Some((rec, Vec::new()));
                    self.depth = 2;
                } else {
                    self.skip(rec.kind);
                    if let Err(err) = self.xml.read_to_end_into(e.name(), &mut self.skip_buf) {
                        return Some(self.xml_error(err.to_string()));
                    }
                }
            }
            Event::End(e) if level == 2 && e.name().as_ref() == b"HealthData" => {
                self.depth = 0;
                self.root_closed = true;
            }
            Event::End(_) if level == 3 && self.correlation.is_some() => {
                self.depth = 1;
                if let Some((corr, parts)) = self.correlation.take() {
                    let out = record::blood_pressure_to_reading(&corr, &parts)
                        .map(|r| to_observation(&r, &self.ctx.subject));
                    return Some(Some(out));
                }
            }
            Event::Start(e) => {
                let rec = if e.name().as_ref() == b"Record" {
                    attributes(&e).ok()
                } else {
                    None
                };
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                self.skip_buf.clear();
                if let Err(err) = self.xml.read_to_end_into(e.name(), &mut self.skip_buf) {
                    return Some(self.xml_error(err.to_string()));
                }
                match rec {
                    Some(r) if level == 2 => {
                        if let Some(out) = self.map(&r) {
                            return Some(Some(out));
                        }
                    }
                    _ if level == 2 => self.skip(name),
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if level == 2 && e.name().as_ref() == b"Record" {
                    let rec = match attributes(&e) {
                        Ok(r) => r,
                        Err(d) => return Some(self.xml_error(d)),
                    };
                    if let Some(out) = self.map(&rec) {
                        return Some(Some(out));
                    }
                } else if level == 2 {
                    self.skip(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
            }
            Event::End(_) => {
                self.depth = self.depth.saturating_sub(1);
            }
            Event::Eof => {
                self.done = true;
                if !self.root_closed {
                    return Some(self.xml_error("the input ends before </HealthData> (truncated)"));
                }
            }
            _ => {}
        }
        None
    }
}
