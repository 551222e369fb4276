//! Assembling Bundle JSON from stored resource text without re-parsing each resource
//! (FHIR R4 §2.36 "Bundle"): the envelope is a `serde_json` value, entries are spliced.

use serde_json::{Value, json};

use super::resource::now;

/// A Bundle envelope of `bundle_type` (`searchset`, `history`, `transaction-response`…)
/// with a fresh id and `meta.lastUpdated`.
pub(crate) fn envelope(bundle_type: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": now().1 },
        "type": bundle_type,
    })
}

/// One entry: `fullUrl`, the resource as stored text, then the other members
/// (`search`, `request`, `response`) of `rest`.
pub(crate) fn entry(full_url: Option<&str>, resource: Option<&str>, rest: Value) -> String {
    let mut out = String::from("{");
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    if let Some(url) = full_url {
        sep(&mut out);
        out.push_str("\"fullUrl\":");
        out.push_str(&Value::String(url.to_owned()).to_string());
    }
    if let Some(r) = resource.filter(|r| !r.is_empty()) {
        sep(&mut out);
        out.push_str("\"resource\":");
        out.push_str(r);
    }
    if let Value::Object(map) = rest {
        for (k, v) in map {
            sep(&mut out);
            out.push_str(&Value::String(k).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
    }
    out.push('}');
    out
}

/// The Bundle text: `head` with `entry` set to `entries` (omitted when empty), written
/// once into a buffer of the final size.
pub(crate) fn assemble(head: &Value, entries: &[String]) -> String {
    let size = entries.iter().map(|e| e.len() + 1).sum();
    let mut out = Assembler::new(head, size);
    for e in entries {
        out.push(e);
    }
    out.finish()
}

/// A Bundle written entry by entry, so a large one (a `batch-response`) is held once, as
/// text, rather than as a list of entries plus their concatenation.
pub(crate) struct Assembler {
    text: String,
    entries: usize,
}

impl Assembler {
    /// A Bundle of envelope `head`, with room for `capacity` bytes of entries.
    pub(crate) fn new(head: &Value, capacity: usize) -> Self {
        let mut text = head.to_string();
        text.pop();
        text.reserve(capacity + 16);
        Self { text, entries: 0 }
    }

    /// Appends one entry (JSON object text, see [`entry`]).
    pub(crate) fn push(&mut self, entry: &str) {
        self.text.push_str(if self.entries == 0 {
            ",\"entry\":["
        } else {
            ","
        });
        self.text.push_str(entry);
        self.entries += 1;
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.text.len()
    }

    /// The Bundle text (`entry` omitted when nothing was pushed).
    pub(crate) fn finish(mut self) -> String {
        if self.entries > 0 {
            self.text.push(']');
        }
        self.text.push('}');
        self.text
    }
}

/// `base/path?query` with the query form-encoded (`|` and `:` percent-encoded, `+` as
/// `%2B`), for `Bundle.link.url`.
pub(crate) fn link(base: &str, path: &str, query: &[(String, String)]) -> String {
    let mut url = if path.is_empty() {
        base.to_owned()
    } else {
        format!("{base}/{path}")
    };
    if !query.is_empty() {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            ser.append_pair(k, v);
        }
        url.push('?');
        url.push_str(&ser.finish());
    }
    url
}
