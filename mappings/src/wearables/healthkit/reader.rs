//! Streaming reader over an `export.xml`: an [`Iterator`] of one Observation (or refusal)
//! per mapped record, holding only the current element in memory (plus the records of an
//! open blood-pressure correlation). Truncated or malformed XML ends the iteration with a
//! [`MappingError::Xml`] naming the byte position.
//!
//! Per record it allocates only what the Observation keeps: attributes are copied into one
//! reused [`HkRecord`] (unescaped only when they hold an entity), and the device description
//! is parsed once per run of records naming the same device ([`DeviceCache`]).

use std::collections::BTreeMap;
use std::io::BufRead;

use super::record::{self, BP, DeviceCache, HkRecord};
use crate::MappingError;
use crate::wearables::Context;
use crate::wearables::observation::Observation;
use quick_xml::events::{BytesStart, Event};

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
    record: HkRecord,
    devices: DeviceCache,
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
            record: HkRecord::default(),
            devices: DeviceCache::default(),
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

    fn xml_error(
        &mut self,
        detail: impl Into<String>,
    ) -> Option<Result<Observation, MappingError>> {
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

    /// Maps the record last read into `self.record`.
    fn map(&mut self) -> Option<Result<Observation, MappingError>> {
        let rec = &self.record;
        if rec.kind == record::SYSTOLIC || rec.kind == record::DIASTOLIC {
            // Also inside their correlation, which is what we map.
            return None;
        }
        match record::record_to_reading(rec, &mut self.devices) {
            Ok(Some(r)) => Some(Ok(Observation::new(r, self.ctx.subject.clone()))),
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

    /// Reads the attributes of `e` into `self.record`.
    fn read_attributes(&mut self, e: &BytesStart<'_>) -> Result<(), String> {
        attributes(e, &mut self.record)
    }
}

/// Copies the attributes we use of `e` into `rec`, reusing its strings; the others end empty.
fn attributes(e: &BytesStart<'_>, rec: &mut HkRecord) -> Result<(), String> {
    for slot in [
        &mut rec.kind,
        &mut rec.unit,
        &mut rec.value,
        &mut rec.start,
        &mut rec.end,
        &mut rec.source_name,
        &mut rec.device,
    ] {
        slot.clear();
    }
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
        let raw = std::str::from_utf8(&a.value).map_err(|e| e.to_string())?;
        if raw.contains('&') {
            slot.push_str(&quick_xml::escape::unescape(raw).map_err(|e| e.to_string())?);
        } else {
            slot.push_str(raw);
        }
    }
    Ok(())
}

impl<R: BufRead> Iterator for ExportReader<R> {
    type Item = Result<Observation, MappingError>;

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
    fn step(&mut self, event: Event<'_>) -> Option<Option<Result<Observation, MappingError>>> {
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
                if let Err(d) = self.read_attributes(e) {
                    return Some(self.xml_error(d));
                }
                if let Some((_, parts)) = self.correlation.as_mut() {
                    parts.push(self.record.clone());
                }
                if matches!(event, Event::Start(_)) {
                    self.skip_buf.clear();
                    if let Err(err) = self.xml.read_to_end_into(e.name(), &mut self.skip_buf) {
                        return Some(self.xml_error(err.to_string()));
                    }
                }
            }
            Event::Start(e) if level == 2 && e.name().as_ref() == b"Correlation" => {
                if let Err(d) = self.read_attributes(&e) {
                    return Some(self.xml_error(d));
                }
                if self.record.kind == BP {
                    self.correlation = Some((self.record.clone(), Vec::new()));
                    self.depth = 2;
                } else {
                    self.skip(self.record.kind.clone());
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
                    let out = record::blood_pressure_to_reading(&corr, &parts, &mut self.devices)
                        .map(|r| Observation::new(r, self.ctx.subject.clone()));
                    return Some(Some(out));
                }
            }
            Event::Start(e) => {
                let record = level == 2 && e.name().as_ref() == b"Record";
                if record && let Err(d) = self.read_attributes(&e) {
                    return Some(self.xml_error(d));
                }
                let name = if level == 2 && !record {
                    Some(String::from_utf8_lossy(e.name().as_ref()).into_owned())
                } else {
                    None
                };
                self.skip_buf.clear();
                if let Err(err) = self.xml.read_to_end_into(e.name(), &mut self.skip_buf) {
                    return Some(self.xml_error(err.to_string()));
                }
                if record {
                    if let Some(out) = self.map() {
                        return Some(Some(out));
                    }
                } else if let Some(name) = name {
                    self.skip(name);
                }
            }
            Event::Empty(e) => {
                if level == 2 && e.name().as_ref() == b"Record" {
                    if let Err(d) = self.read_attributes(&e) {
                        return Some(self.xml_error(d));
                    }
                    if let Some(out) = self.map() {
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
