//! Finds the line of a key path (`routes[0].adapters`) in YAML text, for error messages.
//!
//! Walks yaml-rust2's parser events, which carry source positions, and records the line
//! where each key or sequence item starts, and the scalar values that hold `${`.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Key paths and the 1-based lines where they start, in document order.
#[derive(Debug, Default)]
pub struct LineIndex {
    entries: Vec<(String, usize)>,
    references: Vec<ScalarRef>,
    syntax_error: bool,
}

/// A scalar value (not a key) whose parsed text contains `${`, for env expansion.
#[derive(Debug, Clone)]
pub struct ScalarRef {
    /// Its key path (`server.listen`, `routes[0].adapters[1]`).
    pub path: String,
    /// 1-based line and 0-based column (characters) where the parser's event starts (its
    /// anchor or tag, if any, else the scalar itself).
    pub line: usize,
    /// See [`Self::line`].
    pub col: usize,
    /// How it is written: plain, quoted or a block scalar.
    pub style: TScalarStyle,
    /// Its parsed text (quotes and escapes resolved).
    pub value: String,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Collector {
    stack: Vec<Frame>,
    entries: Vec<(String, usize)>,
    references: Vec<ScalarRef>,
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
            Event::Scalar(value, style, ..) => {
                if let Some(Frame::Map {
                    path,
                    key: key @ None,
                }) = self.stack.last_mut()
                {
                    let full = join(path, &value);
                    *key = Some(value);
                    self.entries.push((full, line));
                } else {
                    if value.contains("${") {
                        let path = self.child_path().unwrap_or_default();
                        self.references.push(ScalarRef {
                            path,
                            line,
                            col: mark.col(),
                            style,
                            value,
                        });
                    }
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
        let parsed = Parser::new_from_str(text).load(&mut collector, false);
        Self {
            entries: collector.entries,
            references: collector.references,
            syntax_error: parsed.is_err(),
        }
    }

    /// Whether `text` is not valid YAML (indexed up to its first error).
    pub fn has_syntax_error(&self) -> bool {
        self.syntax_error
    }

    /// The scalar values (not keys) containing `${`, in document order.
    pub fn references(&self) -> &[ScalarRef] {
        &self.references
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
}
