//! Finds the line of a key path (`routes[0].adapters`) in YAML text, for error messages.
//!
//! Walks yaml-rust2's parser events, which carry source positions, and records the line
//! where each key or sequence item starts.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Key paths and the 1-based lines where they start, in document order.
#[derive(Debug, Default)]
pub struct LineIndex {
    entries: Vec<(String, usize)>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Collector {
    stack: Vec<Frame>,
    entries: Vec<(String, usize)>,
}

impl Collector {
    /// Path of the node that starts now, given the enclosing frame.
    fn child_path(&self) -> Option<String> {
        match self.stack.last()? {
            Frame::Map { path, key: Some(k) } => Some(join(path, k)),
            Frame::Map { key: None, .. } => None,
            Frame::Seq { path, index } => Some(format!("{path}[{index}]")),
        }
    }

    /// A value node finished: the enclosing map expects a key again, a sequence moves on.
    fn advance(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }

    fn record_item(&mut self, line: usize) {
        if let Some(Frame::Seq { path, index }) = self.stack.last() {
            self.entries.push((format!("{path}[{index}]"), line));
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map {
                    path,
                    key: key @ None,
                }) = self.stack.last_mut()
                {
                    let full = join(path, &value);
                    *key = Some(value);
                    self.entries.push((full, line));
                } else {
                    self.record_item(line);
                    self.advance();
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                self.record_item(line);
                let path = self.child_path().unwrap_or_default();
                self.stack.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map { path, key: None }
                } else {
                    Frame::Seq { path, index: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.advance();
            }
            Event::Alias(_) => self.advance(),
            _ => {}
        }
    }
}

impl LineIndex {
    /// Indexes `text`; YAML that does not parse yields what was indexed before the error.
    pub fn new(text: &str) -> Self {
        let mut collector = Collector::default();
        let _ = Parser::new_from_str(text).load(&mut collector, false);
        Self {
            entries: collector.entries,
        }
    }

    /// The line of `path`, or of its longest indexed prefix (a missing key is reported
    /// where its parent is), or `None` when nothing matches.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut candidate = path;
        loop {
            if let Some((_, line)) = self.entries.iter().find(|(p, _)| p == candidate) {
                return Some(*line);
            }
            let cut = candidate.rfind(['.', '['])?;
            candidate = &candidate[..cut];
        }
    }

    /// The path of the last key or item that starts at or before `line`.
    pub fn path_at(&self, line: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, l)| *l <= line)
            .max_by_key(|(_, l)| *l)
            .map(|(p, _)| p.as_str())
    }
}
