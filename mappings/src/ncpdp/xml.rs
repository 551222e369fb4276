//! A small XML layer for SCRIPT: an escaping writer, and a bounded element tree read with
//! quick-xml (namespace prefixes dropped, depth and element count capped, never panics).

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::MappingError;

/// Deepest element nesting accepted (SCRIPT messages are ~10 deep).
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one message.
const MAX_ELEMENTS: usize = 100_000;

/// Appends `text` to `out` with `&`, `<`, `>`, `"` and `'` escaped, and characters XML 1.0
/// cannot carry (C0 controls other than tab, LF, CR) dropped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// Builds XML text: `open`/`close` elements, `leaf` text elements (skipped when `None` or
/// blank), all values escaped.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// A writer starting with the XML declaration.
    pub fn new() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        Self { out }
    }

    /// `<name a="v" …>`.
    pub fn open_with(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
        self.out.push('>');
    }

    /// `<name>`.
    pub fn open(&mut self, name: &str) {
        self.open_with(name, &[]);
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name a="v">text</name>` (always written).
    pub fn text_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open_with(name, attrs);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    /// `<name>text</name>` when `text` is present and not blank.
    pub fn leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            self.text_with(name, &[], t);
        }
    }

    /// `<outer><name>text</name></outer>` when `text` is present and not blank.
    pub fn wrapped(&mut self, outer: &str, name: &str, text: Option<&str>) {
        if text.is_some_and(|t| !t.trim().is_empty()) {
            self.open(outer);
            self.leaf(name, text);
            self.close(outer);
        }
    }

    /// The XML text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// One element: local name (prefix dropped), attributes (local names), children and the
/// concatenated, trimmed text of its direct text nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Attributes as (local name, unescaped value).
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Direct text, trimmed.
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at `path` (child names), e.g. `["DateOfBirth", "Date"]`.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// Non-empty text at `path`.
    pub fn text_at(&self, path: &[&str]) -> Option<String> {
        self.at(path)
            .map(|e| e.text.clone())
            .filter(|t| !t.is_empty())
    }

    /// The attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => name.into_owned(),
    }
}

fn xml_error(position: u64, detail: impl Into<String>) -> MappingError {
    MappingError::Xml {
        format: "ncpdp",
        position,
        detail: detail.into(),
    }
}

fn element_of(
    e: &quick_xml::events::BytesStart<'_>,
    position: u64,
) -> Result<Element, MappingError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| xml_error(position, err.to_string()))?;
        let key = local(a.key.as_ref());
        let value = a
            .unescape_value()
            .map_err(|err| xml_error(position, err.to_string()))?
            .into_owned();
        // Keep `xmlns` (default namespace) under its own name for the namespace check.
        let key = if a.key.as_ref() == b"xmlns" {
            "xmlns".to_owned()
        } else {
            key
        };
        attrs.push((key, value));
    }
    Ok(Element {
        name: local(e.name().as_ref()),
        attrs,
        ..Element::default()
    })
}

/// Reads `xml` into its root element.
///
/// Errors: [`MappingError::Xml`] for malformed XML, a document ending before the root
/// closes, a DTD (entity expansion is refused), more than 64 levels or 100 000 elements.
pub fn parse(xml: &[u8]) -> Result<Element, MappingError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut buf = Vec::new();
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(position, e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e)
                if stack.len() >= MAX_DEPTH || count >= MAX_ELEMENTS =>
            {
                let _ = e;
                return Err(xml_error(
                    position,
                    "message nests too deep or holds too many elements",
                ));
            }
            Event::Start(e) => {
                count += 1;
                stack.push(element_of(&e, position)?);
            }
            Event::Empty(e) => {
                count += 1;
                let el = element_of(&e, position)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(xml_error(position, "closing tag without an opening tag"));
                };
                el.text = el.text.trim().to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                // SCRIPT has no mixed content: text after an element's first child is the
                // indentation between children, not data.
                if let Some(top) = stack.last_mut().filter(|top| top.children.is_empty()) {
                    let text = t.decode().map_err(|e| xml_error(position, e.to_string()))?;
                    top.text.push_str(&text);
                } else if stack.is_empty() && !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(xml_error(position, "text outside the root element"));
                }
            }
            Event::GeneralRef(r) => {
                let Some(top) = stack.last_mut() else {
                    return Err(xml_error(
                        position,
                        "entity reference outside the root element",
                    ));
                };
                let name = r.decode().map_err(|e| xml_error(position, e.to_string()))?;
                match resolve_entity(&name) {
                    Some(c) => top.text.push(c),
                    None => return Err(xml_error(position, format!("unknown entity &{name};"))),
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::DocType(_) => return Err(xml_error(position, "DTDs are not accepted")),
            Event::Eof => {
                return Err(xml_error(
                    position,
                    "the document ends before its root element closes",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        buf.clear();
    }
}

/// The character of a predefined entity (`amp`, `lt`, …) or a character reference
/// (`#38`, `#x26`).
fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let n = name.strip_prefix('#')?;
            let code = match n.strip_prefix('x').or_else(|| n.strip_prefix('X')) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}
