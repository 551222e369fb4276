//! A Bundle's paging links as the relinking of a restricted caller's pages reads them
//! (FHIR R4 `Bundle.link`: `relation` and `url`; http.html §3.1.0.9, search.html §3.1.1.6),
//! shared by searches ([`super::search_pages`]) and instance histories
//! ([`super::history_pages`], [`super::history`]).

use serde_json::Value;

/// Most later pages read to find one the caller is shown before a link is left out.
pub const MAX_LOOKAHEAD: usize = 10;

/// A link's `relation` (`self`, `next`, `previous` …).
pub fn relation(link: &Value) -> Option<&str> {
    link.get("relation").and_then(Value::as_str)
}

/// The URL of `bundle`'s first link with relation `rel`.
pub fn link<'a>(bundle: &'a Value, rel: &str) -> Option<&'a str> {
    bundle
        .get("link")
        .and_then(Value::as_array)?
        .iter()
        .find(|l| relation(l) == Some(rel))
        .and_then(|l| l.get("url"))
        .and_then(Value::as_str)
}
