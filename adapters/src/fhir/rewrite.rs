//! Rewriting absolute URLs under the upstream FHIR base to the gateway's public base.
//!
//! FHIR R4 RESTful API, "Service Base URL" (http.html): every resource is identified by
//! `[base]/[type]/[id]`, and the links a server answers (`Bundle.link.url`,
//! `Bundle.entry.fullUrl`, `Bundle.entry.response.location`, the `Location` and
//! `Content-Location` headers of "create", "update" and "Batch/Transaction") carry the
//! *upstream* base. Behind the gateway they must name the gateway's public base instead.
//!
//! Matching parses URLs (scheme, host, effective port — `:443` on https is the same as no
//! port — and the base path compared segment by segment, percent-decoded), never by string
//! replacement. The output is the public base followed by the link's remaining bytes exactly
//! as received (path rest, query and fragment, including `|`, `+`, `%2F` and non-ASCII).
//! Relative URLs, `urn:` ids and URLs under other bases are left alone. A URL already under
//! the public base is left alone, so rewriting is idempotent.

use percent_encoding::percent_decode_str;
use url::Url;

/// A FHIR service base URL, parsed for prefix matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    scheme: String,
    host: String,
    port: Option<u16>,
    segments: Vec<Vec<u8>>,
    text: String,
}

/// Why a string is not usable as a FHIR base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a FHIR base URL: {0}")]
pub struct BaseError(String);

impl Base {
    /// Parses an absolute `http(s)` base URL without query, fragment or user info. A trailing
    /// `/` is ignored. Errors: [`BaseError`] when it is none of that.
    pub fn parse(base: &str) -> Result<Self, BaseError> {
        let url = Url::parse(base).map_err(|e| BaseError(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BaseError("scheme must be http or https".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BaseError("must not have a query or fragment".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseError("must not carry user info".into()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| BaseError("must have a host".into()))?
            .to_owned();
        let segments: Vec<Vec<u8>> = url
            .path_segments()
            .map(|s| {
                s.filter(|seg| !seg.is_empty())
                    .map(|seg| percent_decode_str(seg).collect())
                    .collect()
            })
            .unwrap_or_default();
        // `Url` drops a default port when it parses, so `port()` is `Some` only when needed.
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let text = format!("{}://{}{}", url.scheme(), authority, url.path())
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            scheme: url.scheme().to_owned(),
            host,
            port: url.port_or_known_default(),
            segments,
            text,
        })
    }

    /// The normalized base, without trailing `/`, e.g. `https://ehr.example.org/fhir`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Scheme (`http` or `https`).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Host and, when not the scheme's default, `:port` (for `X-Forwarded-Host`).
    pub fn authority(&self) -> &str {
        let rest = &self.text[self.scheme.len() + 3..];
        rest.split('/').next().unwrap_or(rest)
    }

    /// When `link` is an absolute URL under this base, the byte offset in `link` where the
    /// part after the base starts (`""`, or starting with `/`, `?` or `#`).
    fn suffix_start(&self, link: &str) -> Option<usize> {
        self.exact_suffix_start(link)
            .or_else(|| self.parsed_suffix_start(link))
    }

    /// [`Self::suffix_start`] by the full rules: scheme and authority compared as the URL
    /// parser normalizes them, base segments percent-decoded, dot segments refused.
    fn parsed_suffix_start(&self, link: &str) -> Option<usize> {
        let (scheme, rest) = link.split_once("://")?;
        if !scheme.eq_ignore_ascii_case(&self.scheme) {
            return None;
        }
        let authority_end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#' | b'\\'))
            .unwrap_or(rest.len());
        let after_authority = &rest[authority_end..];
        let path_end = after_authority
            .bytes()
            .position(|b| matches!(b, b'?' | b'#'))
            .unwrap_or(after_authority.len());
        let path = &after_authority[..path_end];
        if path.contains('\\') {
            return None;
        }
        // Fast path: the authority exactly as this base writes it (the usual case for links a
        // server writes under its own base). Otherwise parse to compare normalized parts.
        let raw_authority = &rest[..authority_end];
        if !raw_authority.eq_ignore_ascii_case(self.authority())
            && !self
                .known_origin(raw_authority)
                .unwrap_or_else(|| self.same_origin(link))
        {
            return None;
        }
        // Dot segments would be normalized away by a client: leave such links alone.
        if path
            .split('/')
            .any(|seg| seg.len() <= 6 && (decodes_to(seg, b".") || decodes_to(seg, b"..")))
        {
            return None;
        }
        let mut pos = 0;
        for expected in &self.segments {
            let after = path[pos..].strip_prefix('/')?;
            let len = after.find('/').unwrap_or(after.len());
            if !decodes_to(&after[..len], expected) {
                return None;
            }
            pos += 1 + len;
        }
        Some(scheme.len() + 3 + authority_end + pos)
    }

    /// The fast path of [`Self::suffix_start`], for the link a server writes under its own
    /// base (every `fullUrl` and `link.url` of a searchset): the link starts with this
    /// base's text byte for byte, then ends or goes on with `/`, `?` or `#`, and its path
    /// holds no `%`, no `\` and no `.` or `..` segment. Such a link is under this base by
    /// the full rules too, with the same suffix; `None` sends every other link to them.
    fn exact_suffix_start(&self, link: &str) -> Option<usize> {
        let rest = link.strip_prefix(self.text.as_str())?;
        if !matches!(rest.bytes().next(), None | Some(b'/' | b'?' | b'#'))
            || self.text.contains('%')
        {
            return None;
        }
        // One pass over the path (it ends at `?` or `#`): no `%` or `\`, no dot segment.
        let dot = |seg: &str| seg == "." || seg == "..";
        let mut segment = 0;
        for (i, b) in rest.bytes().enumerate() {
            match b {
                b'?' | b'#' => return (!dot(&rest[segment..i])).then_some(self.text.len()),
                b'%' | b'\\' => return None,
                b'/' if dot(&rest[segment..i]) => return None,
                b'/' => segment = i + 1,
                _ => {}
            }
        }
        (!dot(&rest[segment..])).then_some(self.text.len())
    }

    /// Whether `other` names this base's origin: scheme, host and effective port (both were
    /// normalized by the URL parser in [`Self::parse`]).
    fn same_origin_as(&self, other: &Base) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }

    /// Whether a link's raw authority (its scheme already matched) names this base's origin,
    /// decided without parsing the URL when that is certain: `None` when only a full parse
    /// can tell (user info, IPv6, a differing host that is or ends like an IPv4 number,
    /// non-ASCII or percent-encoded hosts, an empty port). Ports are compared as numbers
    /// and hosts case-insensitively — exactly what the WHATWG URL parser normalizes there.
    fn known_origin(&self, raw_authority: &str) -> Option<bool> {
        if raw_authority.contains(['@', '[', '%']) {
            return None;
        }
        let (host, port) = match raw_authority.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                // Not a valid port: the link does not parse, so it is no origin of ours.
                let Ok(port) = p.parse::<u16>() else {
                    return Some(false);
                };
                (h, Some(port))
            }
            Some(_) => return None,
            None => (raw_authority, self.default_port()),
        };
        if port != self.port {
            return Some(false);
        }
        if host.eq_ignore_ascii_case(&self.host) {
            return Some(true);
        }
        let last_label = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
        let domain = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !last_label.bytes().all(|b| b.is_ascii_digit())
            && !last_label
                .get(..2)
                .is_some_and(|p| p.eq_ignore_ascii_case("0x"));
        // A domain is only lower-cased by the parser; other hosts need the full parse.
        domain.then_some(false)
    }

    /// The default port of this base's scheme.
    fn default_port(&self) -> Option<u16> {
        match self.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        }
    }

    /// Whether `link` parses to this base's scheme, host and effective port, without user info.
    fn same_origin(&self, link: &str) -> bool {
        Url::parse(link).is_ok_and(|parsed| {
            parsed.scheme() == self.scheme
                && parsed.host_str() == Some(self.host.as_str())
                && parsed.port_or_known_default() == self.port
                && parsed.username().is_empty()
                && parsed.password().is_none()
        })
    }

    /// Whether `link` is an absolute URL under this base.
    pub fn contains(&self, link: &str) -> bool {
        self.suffix_start(link).is_some()
    }
}

/// Whether the path segment `seg` percent-decodes to exactly `expected` (no allocation).
fn decodes_to(seg: &str, expected: &[u8]) -> bool {
    if seg.contains('%') {
        percent_decode_str(seg).eq(expected.iter().copied())
    } else {
        seg.as_bytes() == expected
    }
}

/// Rewrites `link` from the `upstream` base to the `public` base.
///
/// Returns `Some(new)` only when `link` is an absolute URL under `upstream` and not already
/// under `public`; `None` means "leave it as it is" (relative, `urn:`, other host, already
/// public). When one base lies under the other (`http://h/fhir` and `http://h/fhir/R4`), a
/// link under both belongs to the longer one.
pub fn rewrite(link: &str, upstream: &Base, public: &Base) -> Option<String> {
    let start = upstream.suffix_start(link)?;
    // A link under `upstream` has upstream's origin, so it can be under `public` only when
    // the two bases share it.
    if public.segments.len() >= upstream.segments.len()
        && upstream.same_origin_as(public)
        && public.contains(link)
    {
        return None;
    }
    Some(format!("{}{}", public.as_str(), &link[start..]))
}

#[cfg(test)]
mod tests;
