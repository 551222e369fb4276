//! The link rewrite on JSON text: one borrowing pass (`serde_json` with `RawValue`)
//! finds `Bundle.link.url`, `Bundle.entry.fullUrl` and `Bundle.entry.response.location`
//! (in nested Bundles too) without building a tree, and only those strings' bytes are
//! replaced. Same rules as [`super::rewrite_links`]; shapes it does not model are declined.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::fhir::rewrite::{Base, rewrite};

/// The members of a resource the link rewrite reads; everything else is skipped unparsed.
/// `link` and `entry` are read (a Bundle is recognised only after its `resourceType`, which
/// may come last) and used only when it is a Bundle. Entry resources are read the same way
/// in the same pass, so a nested Bundle needs no second parse and other resources no
/// search of their text. `link` and `entry` of other resources (`Patient.link`,
/// `List.entry`) are arrays of objects too; a shape this view cannot read is declined.
#[derive(Deserialize)]
struct View<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    link: Option<Vec<LinkView<'a>>>,
    #[serde(borrow, default)]
    entry: Option<Vec<EntryView<'a>>>,
}

#[derive(Deserialize)]
struct LinkView<'a> {
    #[serde(borrow, default)]
    url: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EntryView<'a> {
    #[serde(rename = "fullUrl", borrow, default)]
    full_url: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<ResponseView<'a>>,
    #[serde(borrow, default)]
    resource: Option<View<'a>>,
}

#[derive(Deserialize)]
struct ResponseView<'a> {
    #[serde(borrow, default)]
    location: Option<&'a RawValue>,
}

/// Why the text path declined: the body has a shape it does not model (a `link` that is not
/// an array, a repeated member, invalid JSON…); [`super::rewrite_links`] decides those.
#[derive(Debug)]
pub struct Declined;

/// Like [`super::rewrite_links`] on the JSON text `body`: `Ok(None)` when nothing changes,
/// `Ok(Some(text))` with only the rewritten link strings replaced, `Err(Declined)` when the
/// body must go through [`super::rewrite_links`] instead.
pub fn rewrite_links_in_text(
    body: &[u8],
    upstream: &Base,
    public: &Base,
) -> Result<Option<Vec<u8>>, Declined> {
    // One UTF-8 check of the whole text, then none per string or raw entry.
    let text = std::str::from_utf8(body).map_err(|_| Declined)?;
    let view: View<'_> = serde_json::from_str(text).map_err(|_| Declined)?;
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    collect(&view, body, upstream, public, &mut edits)?;
    if edits.is_empty() {
        return Ok(None);
    }
    edits.sort_by_key(|e| e.0);
    let grow: usize = edits.iter().map(|e| e.2.len()).sum();
    let mut out = Vec::with_capacity(body.len() + grow);
    let mut at = 0;
    for (start, end, text) in edits {
        out.extend_from_slice(&body[at..start]);
        out.extend_from_slice(text.as_bytes());
        at = end;
    }
    out.extend_from_slice(&body[at..]);
    Ok(Some(out))
}

/// The replacements for the links of `view` (when it is a Bundle) and its nested Bundles,
/// as byte ranges of `body` and the new JSON string text.
fn collect(
    view: &View<'_>,
    body: &[u8],
    upstream: &Base,
    public: &Base,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), Declined> {
    if view.resource_type.as_deref() != Some("Bundle") {
        return Ok(());
    }
    for link in view.link.iter().flatten() {
        fix(link.url, body, upstream, public, edits)?;
    }
    for entry in view.entry.iter().flatten() {
        fix(entry.full_url, body, upstream, public, edits)?;
        let location = entry.response.as_ref().and_then(|r| r.location);
        fix(location, body, upstream, public, edits)?;
        if let Some(nested) = &entry.resource {
            collect(nested, body, upstream, public, edits)?;
        }
    }
    Ok(())
}

/// The replacement for one link slot, when it holds a string under `upstream`.
fn fix(
    raw: Option<&RawValue>,
    body: &[u8],
    upstream: &Base,
    public: &Base,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), Declined> {
    let Some(raw) = raw else { return Ok(()) };
    let text = raw.get();
    if !text.starts_with('"') {
        return Ok(());
    }
    let link: Cow<'_, str> = serde_json::from_str(text).map_err(|_| Declined)?;
    if let Some(new) = rewrite(&link, upstream, public) {
        // The raw text borrows from `body`: its address gives its offset in `body`.
        let start = (text.as_ptr() as usize)
            .checked_sub(body.as_ptr() as usize)
            .filter(|s| s + text.len() <= body.len())
            .ok_or(Declined)?;
        let json = serde_json::to_string(&new).map_err(|_| Declined)?;
        edits.push((start, start + text.len(), json));
    }
    Ok(())
}
