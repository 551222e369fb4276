//! Pure parts of the cache: the normalized key, request/response `Cache-Control`
//! (RFC 9111 §5.2), `If-None-Match` matching (RFC 9110 §13.1.2) and what a write touches.

use axum::http::{HeaderMap, header};
use fhirgate_adapters::interaction::Principal;

/// Whose view a cached response is: everyone's (public endpoints) or one principal's
/// effective access (client, patient context, user, granted scopes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// `metadata`, `smart-configuration`: the same for every caller.
    Public,
    /// No token and none required (auth off): one shared anonymous view.
    Anonymous,
    /// A validated caller: patient context, user and granted scopes decide what it may see.
    Principal {
        /// The OAuth2 client: answers are never shared across clients, even with equal grants.
        client_id: String,
        /// Patient launch context.
        patient: Option<String>,
        /// `fhirUser`.
        fhir_user: Option<String>,
        /// Granted scopes, sorted.
        scopes: Vec<String>,
    },
}

impl Access {
    /// The effective access of a principal (scopes sorted and deduplicated).
    pub fn of(p: &Principal) -> Self {
        let mut scopes = p.scopes.clone();
        scopes.sort();
        scopes.dedup();
        Self::Principal {
            client_id: p.client_id.clone(),
            patient: p.patient.clone(),
            fhir_user: p.fhir_user.clone(),
            scopes,
        }
    }

    fn render(&self) -> String {
        match self {
            Self::Public => "public".into(),
            Self::Anonymous => "anonymous".into(),
            Self::Principal {
                client_id,
                patient,
                fhir_user,
                scopes,
            } => format!(
                "client={client_id}|patient={}|user={}|scopes={}",
                patient.as_deref().unwrap_or("-"),
                fhir_user.as_deref().unwrap_or("-"),
                scopes.join(" ")
            ),
        }
    }
}

/// The cache key: public base, path, query parameters sorted by name then value (order of
/// repeated parameters is not significant for FHIR search ANDs), `Accept` and `Prefer`
/// (lowercased, whitespace removed) and the caller's access.
pub fn cache_key(
    base: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    access: &Access,
) -> String {
    // A query that does not decode to UTF-8 (answered 400 by the edge) keeps its raw text:
    // decoded lossily it could share the key of a cached answer to another, valid query.
    let mut params: Vec<(String, String)> =
        match crate::edge::query::parse(query.unwrap_or("").as_bytes()) {
            Ok(params) => params,
            Err(_) => vec![("!undecodable".to_owned(), query.unwrap_or("").to_owned())],
        };
    params.sort();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let norm = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
            .to_ascii_lowercase()
            .replace([' ', '\t'], "")
    };
    format!(
        "{base}|{}|{query}|accept={}|prefer={}|{}",
        path.trim_matches('/'),
        norm("accept"),
        norm("prefer"),
        access.render()
    )
}

/// Cache-Control directives that matter here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Directives {
    /// `no-store`: neither read nor store.
    pub no_store: bool,
    /// `no-cache` (or `max-age=0`, `Pragma: no-cache`): do not answer from the cache.
    pub no_cache: bool,
    /// `private`: not for a shared cache.
    pub private: bool,
}

/// Parses `Cache-Control` (and `Pragma: no-cache`, RFC 9111 §5.4).
pub fn directives(headers: &HeaderMap) -> Directives {
    let mut d = Directives::default();
    for value in headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for part in value.split(',') {
            let part = part.trim().to_ascii_lowercase();
            match part.as_str() {
                "no-store" => d.no_store = true,
                "no-cache" | "max-age=0" | "s-maxage=0" => d.no_cache = true,
                "private" => d.private = true,
                p if p.starts_with("no-cache=") || p.starts_with("private=") => d.no_cache = true,
                _ => {}
            }
        }
    }
    if headers
        .get(header::PRAGMA)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-cache"))
    {
        d.no_cache = true;
    }
    d
}

/// Whether `If-None-Match` matches `etag` (weak comparison, RFC 9110 §13.1.2; `*` matches).
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| crate::edge::weak_match(v, etag))
}

/// What a successful write invalidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// Reads of `id` (or every instance when `None`) and searches of the type.
    Type(String, Option<String>),
    /// Everything (operations, unknown bodies).
    All,
}

/// The types and ids a batch/transaction Bundle's entries write (`entry.request`: method
/// other than GET/HEAD, url `Type[/id][?…]`). `None` when the body is not such a Bundle.
pub fn bundle_writes(body: &[u8]) -> Option<Vec<Touched>> {
    let bundle: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut out = Vec::new();
    for entry in bundle.get("entry")?.as_array()? {
        let request = entry.get("request")?;
        let method = request.get("method")?.as_str()?;
        if matches!(method, "GET" | "HEAD") {
            continue;
        }
        let url = request.get("url")?.as_str()?;
        let path = url.split('?').next().unwrap_or("");
        let conditional = url.contains('?');
        let mut parts = path.trim_matches('/').split('/');
        let rt = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let id = parts
            .next()
            .filter(|s| !s.is_empty() && !s.starts_with('$'))
            .map(str::to_owned);
        if rt.starts_with('$') {
            return Some(vec![Touched::All]);
        }
        out.push(Touched::Type(rt, if conditional { None } else { id }));
    }
    Some(out)
}
