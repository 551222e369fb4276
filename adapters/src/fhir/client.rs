//! The `FhirAdapter`: forwards one interaction to the upstream FHIR R4 server over reqwest
//! (FHIR R4 §3.1.0 "RESTful API", http.html), with the adapter's own OAuth2 token, and maps transport
//! failures to [`AdapterError`]s (connect refused → 502, timeouts → 504, broken body → 502).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::auth::TokenSource;
use super::config::FhirConfig;
use super::headers::request_headers;
use super::response::{Limits, answer};
use super::rewrite::Base;
use super::transport::transport_error;
use crate::{Adapter, AdapterError, FhirRequest, FhirResponse, Interaction};

/// Bytes of a decoded query key or value left unencoded when the gateway changed the query
/// (`raw_query` is `None`): RFC 3986 unreserved plus `:` and `,`, which FHIR search uses
/// for modifiers and value lists. Everything else, `+`, `|`, `/`, `%` and non-ASCII
/// included, is percent-encoded, so the upstream decodes exactly the values we hold.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b',');

/// An adapter forwarding to one upstream FHIR R4 server.
#[derive(Debug)]
pub struct FhirAdapter {
    name: String,
    upstream: Base,
    http: reqwest::Client,
    auth: Option<TokenSource>,
    timeout: Duration,
    connect_timeout: Duration,
    check_timeout: Duration,
    limits: Limits,
    /// `max_buffered_bytes` as configured (`None`: follows the answer limit).
    max_buffered: Option<u64>,
}

impl FhirAdapter {
    /// Builds the adapter `name`: the HTTP client (rustls, no redirects followed) and the
    /// token source, reading secret files now. Errors: [`AdapterError::Config`].
    pub fn new(name: &str, config: &FhirConfig) -> Result<Self, AdapterError> {
        let err = |detail: String| AdapterError::Config {
            adapter: name.to_owned(),
            detail,
        };
        let upstream = Base::parse(&config.base_url).map_err(|e| err(e.to_string()))?;
        let seconds = |key: &str, value: f64| {
            Duration::try_from_secs_f64(value).map_err(|e| err(format!("{key}: {e}")))
        };
        let connect_timeout = seconds("connect_timeout_seconds", config.connect_timeout_seconds)?;
        let timeout = seconds("timeout_seconds", config.timeout_seconds)?;
        let check_timeout = seconds("check_timeout_seconds", config.check_timeout_seconds)?;
        let client = || {
            reqwest::Client::builder()
                .connect_timeout(connect_timeout)
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("fhirgate/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| err(format!("cannot build HTTP client: {e}")))
        };
        let http = client()?;
        let auth = match &config.auth {
            Some(a) => Some(TokenSource::new(name, a, client()?)?),
            None => None,
        };
        Ok(Self {
            name: name.to_owned(),
            upstream,
            http,
            auth,
            timeout,
            connect_timeout,
            check_timeout,
            max_buffered: config.max_buffered_bytes,
            limits: Limits {
                stream_threshold: config.stream_threshold_bytes,
                max_buffered: config
                    .max_buffered_bytes
                    .unwrap_or(crate::DEFAULT_MAX_ANSWER_BYTES as u64),
                max_answer: u64::MAX,
                timeouts: (connect_timeout, timeout),
            },
        })
    }

    /// Bounds the batch- and transaction-responses it buffers to `bytes`
    /// ([`crate::BuildContext::max_answer_bytes`]; larger ones answer 413 `too-costly`),
    /// and every Bundle it buffers when `max_buffered_bytes` is not configured.
    #[must_use]
    pub fn with_answer_limit(mut self, bytes: usize) -> Self {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.limits.max_answer = bytes;
        if self.max_buffered.is_none() {
            self.limits.max_buffered = bytes;
        }
        self
    }

    /// The upstream base, normalized (no trailing `/`).
    pub fn upstream_base(&self) -> &str {
        self.upstream.as_str()
    }

    /// Method, URL and body of the upstream request for `request`. `POST _search` is sent
    /// as `POST [base]/[type]/_search` with the parameters form-encoded in the body
    /// (FHIR R4 RESTful API, "search": `POST [base]/[type]/_search`); everything else keeps its method, path and body.
    fn target(&self, request: &FhirRequest) -> (Method, String, Bytes, Option<&'static str>) {
        // `[base]` itself (batch/transaction, system search) carries no trailing `/`.
        let relative = request.relative_path();
        let mut url = self.upstream.as_str().to_owned();
        if !relative.is_empty() {
            url.push('/');
            url.push_str(&relative);
        }
        let search = matches!(
            request.interaction,
            Interaction::SearchType | Interaction::SearchSystem
        );
        if search && request.method == Method::POST {
            url.push_str("/_search");
            let form = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&request.query)
                .finish();
            return (
                Method::POST,
                url,
                Bytes::from(form),
                Some("application/x-www-form-urlencoded"),
            );
        }
        if let Some(query) = upstream_query(request) {
            url.push('?');
            url.push_str(&query);
        }
        (request.method.clone(), url, request.body.clone(), None)
    }

    async fn send(
        &self,
        request: &FhirRequest,
        public: Option<&Base>,
        token: Option<&str>,
    ) -> Result<reqwest::Response, AdapterError> {
        let (method, url, body, content_type) = self.target(request);
        let mut headers = request_headers(request, public);
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                AdapterError::BadGateway {
                    adapter: self.name.clone(),
                    detail: "token endpoint issued a token unusable in a header".into(),
                }
            })?;
            headers.insert(header::AUTHORIZATION, value);
        }
        let mut builder = self.http.request(method, url).headers(headers);
        if !body.is_empty() {
            builder = builder.body(body);
        }
        builder.send().await.map_err(|e| {
            transport_error(&self.name, &e, Some((self.connect_timeout, self.timeout)))
        })
    }
}

/// The query string sent upstream: `raw_query` verbatim when the gateway kept it, else
/// `query` percent-encoded with [`QUERY_COMPONENT`]. `None` when there is no query.
pub fn upstream_query(request: &FhirRequest) -> Option<String> {
    if let Some(raw) = &request.raw_query {
        return (!raw.is_empty()).then(|| raw.clone());
    }
    if request.query.is_empty() {
        return None;
    }
    let pairs: Vec<String> = request
        .query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_COMPONENT),
                utf8_percent_encode(v, QUERY_COMPONENT)
            )
        })
        .collect();
    Some(pairs.join("&"))
}

#[async_trait::async_trait]
impl Adapter for FhirAdapter {
    /// Every operation goes upstream; the upstream server decides.
    fn serves_operation(&self, _resource_type: Option<&str>, _name: &str) -> bool {
        true
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(&self, request: FhirRequest) -> Result<FhirResponse, AdapterError> {
        let public = Base::parse(&request.base_url).ok();
        let mut token: Option<Arc<str>> = match &self.auth {
            Some(auth) => Some(auth.token().await?),
            None => None,
        };
        let mut response = self
            .send(&request, public.as_ref(), token.as_deref())
            .await?;
        // RFC 6750 §3.1: a 401 means our token expired or was revoked. Refresh it once and
        // retry once; the body is `Bytes`, so it is always replayable.
        if response.status() == StatusCode::UNAUTHORIZED
            && let (Some(auth), Some(used)) = (&self.auth, token.take())
        {
            tracing::info!(adapter = %self.name, request_id = %request.request_id, "upstream refused the token, refreshing once");
            let fresh = auth.refresh(&used).await?;
            response = self.send(&request, public.as_ref(), Some(&fresh)).await?;
            // Refused again: our credentials are at fault, not the client's (whose token the
            // gateway accepted), so this is a gateway failure rather than a 401 to pass on.
            if response.status() == StatusCode::UNAUTHORIZED {
                return Err(AdapterError::BadGateway {
                    adapter: self.name.clone(),
                    detail: "upstream refused a freshly issued token (401)".into(),
                });
            }
        }
        tracing::debug!(adapter = %self.name, request_id = %request.request_id, status = response.status().as_u16(), "upstream answered");
        answer(
            &self.name,
            &request,
            response,
            &self.upstream,
            public.as_ref(),
            &self.limits,
        )
        .await
    }

    async fn check(&self) -> Result<(), AdapterError> {
        let url = format!("{}/metadata", self.upstream.as_str());
        let mut builder = self
            .http
            .get(url)
            .timeout(self.check_timeout)
            .header(header::ACCEPT, "application/fhir+json");
        if let Some(auth) = &self.auth {
            builder = builder.bearer_auth(auth.token().await?);
        }
        let response = builder.send().await.map_err(|e| {
            transport_error(
                &self.name,
                &e,
                Some((self.connect_timeout, self.check_timeout)),
            )
        })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(AdapterError::Unavailable {
                adapter: self.name.clone(),
                detail: format!("GET metadata answered {}", response.status().as_u16()),
            })
        }
    }
}
