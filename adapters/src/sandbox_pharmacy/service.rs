//! The sandbox pharmacy adapter and its SCRIPT endpoint `POST /sandbox/pharmacy/script`
//! (SCRIPT in, Status/Error out; HTTP Basic with the sandbox secret). Its stats and mode
//! endpoints are in `admin`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use fhirgate_conformance::IssueCode;
use fhirgate_mappings::ncpdp::{Body, Header, Message, error, parse_message, status};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use super::admin::{ModeEndpoint, StatsEndpoint};
use super::config::{Mode, SandboxPharmacyConfig};
use super::follow_up;
use super::ledger::{Entry, Ledger};
use super::required::missing_elements;
use crate::ncpdp::credential::{self, Secret, basic_credentials};
use crate::outcome::error_response;
use crate::{
    Adapter, AdapterError, BuildContext, Endpoint, FhirRequest, FhirResponse, SharedAdapter,
};

/// Counters for tests and demos (`GET /sandbox/pharmacy/stats`).
#[derive(Default)]
pub(crate) struct Stats {
    /// Every POST to the script endpoint.
    pub posts: AtomicU64,
    /// POSTs refused because the pharmacy was `down`.
    pub refused_down: AtomicU64,
    /// NewRx messages received while up (repeats included).
    pub new_rx_received: AtomicU64,
    /// Repeats of a MessageID answered from the ledger.
    pub repeats: AtomicU64,
    /// Follow-ups (RxFill, CancelRxResponse) the gateway accepted.
    pub follow_ups_sent: AtomicU64,
}

/// State shared by the endpoints and the follow-up tasks.
pub(crate) struct Sandbox {
    pub name: String,
    pub config: SandboxPharmacyConfig,
    pub secret: Secret,
    mode: AtomicU8,
    pub ledger: Ledger,
    pub stats: Stats,
    pub self_url: Arc<std::sync::OnceLock<url::Url>>,
    pub http: reqwest::Client,
}

impl Sandbox {
    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::SeqCst) {
            1 => Mode::Down,
            2 => Mode::Slow,
            3 => Mode::Error601,
            _ => Mode::Up,
        }
    }

    /// Switches the answering mode (the admin endpoint).
    pub(super) fn set_mode(&self, mode: Mode) {
        let n = match mode {
            Mode::Up => 0,
            Mode::Down => 1,
            Mode::Slow => 2,
            Mode::Error601 => 3,
        };
        self.mode.store(n, Ordering::SeqCst);
    }

    /// Whether `headers` carry HTTP Basic with the sandbox secret (compared in constant
    /// time by [`Secret::matches`]).
    pub(super) fn authorized(&self, headers: &http::HeaderMap) -> bool {
        basic_credentials(headers).is_some_and(|(_, password)| self.secret.matches(&password))
    }
}

/// The adapter (it serves no FHIR; its endpoints are the point).
struct SandboxAdapter {
    sandbox: Arc<Sandbox>,
}

/// Builds the sandbox pharmacy: loads (creating) its secret and ledger, and resumes
/// follow-ups owed from before a restart.
///
/// Errors: [`AdapterError::Config`] when the secret or ledger cannot be read or created.
pub async fn build(
    name: &str,
    config: &SandboxPharmacyConfig,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    let secret = match &config.credential {
        Some(_) => credential::load(name, config.credential.as_ref(), None, &ctx.data_dir)?
            .ok_or_else(|| AdapterError::Config {
                adapter: name.to_owned(),
                detail: "no credential".into(),
            })?,
        None => credential::load_or_create(name, &config.credential_file, &ctx.data_dir)?,
    };
    let dir = ctx.data_dir.join("sandbox-pharmacy");
    std::fs::create_dir_all(&dir).map_err(|e| AdapterError::Config {
        adapter: name.to_owned(),
        detail: format!("cannot create {}: {e}", dir.display()),
    })?;
    let ledger = Ledger::open(name, dir.join(format!("{}.jsonl", config.ncpdp_id)))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| AdapterError::Config {
            adapter: name.to_owned(),
            detail: format!("HTTP client: {e}"),
        })?;
    let sandbox = Arc::new(Sandbox {
        name: name.to_owned(),
        config: config.clone(),
        secret,
        mode: AtomicU8::new(0),
        ledger,
        stats: Stats::default(),
        self_url: ctx.self_url.clone(),
        http,
    });
    sandbox.set_mode(config.mode);
    for id in sandbox.ledger.owed().await {
        follow_up::spawn(sandbox.clone(), id);
    }
    Ok(Arc::new(SandboxAdapter { sandbox }))
}

#[async_trait::async_trait]
impl Adapter for SandboxAdapter {
    fn name(&self) -> &str {
        &self.sandbox.name
    }

    async fn handle(&self, _req: FhirRequest) -> Result<FhirResponse, AdapterError> {
        Ok(error_response(
            StatusCode::NOT_IMPLEMENTED,
            IssueCode::NotSupported,
            "the sandbox pharmacy serves no FHIR interactions; it speaks NCPDP SCRIPT at /sandbox/pharmacy/script",
        ))
    }

    async fn check(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        let mut out: Vec<Arc<dyn Endpoint>> = vec![
            Arc::new(Script(self.sandbox.clone())),
            Arc::new(StatsEndpoint(self.sandbox.clone())),
        ];
        if self.sandbox.config.admin {
            out.push(Arc::new(ModeEndpoint(self.sandbox.clone())));
        }
        out
    }
}

fn xml(status: StatusCode, body: String) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    r
}

pub(super) fn plain(status: StatusCode, body: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(body.to_owned()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `r` (a 401) with the HTTP Basic challenge (RFC 7617 §2).
fn challenge(mut r: Response<Bytes>) -> Response<Bytes> {
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"sandbox-pharmacy\", charset=\"UTF-8\""),
    );
    r
}

/// 401 with the HTTP Basic challenge, as plain text (the non-SCRIPT endpoints).
pub(super) fn unauthorized() -> Response<Bytes> {
    challenge(plain(
        StatusCode::UNAUTHORIZED,
        "sandbox pharmacy credential required",
    ))
}

/// A SCRIPT Error 900 (transaction rejected) from this pharmacy for a message it did not read.
fn rejected(s: &Sandbox, status: StatusCode, why: &str) -> Response<Bytes> {
    xml(status, error(&answer_header(s, None), "900", None, why))
}

/// A header answering `m` from this pharmacy.
fn answer_header(s: &Sandbox, m: Option<&Message>) -> Header {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let now = crate::ncpdp::now_rfc3339();
    match m {
        Some(m) => {
            let mut h = Header::reply_to(m, id, now);
            h.from_id = s.config.ncpdp_id.clone();
            h
        }
        None => Header {
            message_id: id,
            sent_time: now,
            from_id: s.config.ncpdp_id.clone(),
            ..Header::default()
        },
    }
}

struct Script(Arc<Sandbox>);

/// The refusal of a request to the SCRIPT endpoint its head decides: 405 with
/// `Allow: POST`, 401 with a `Basic` challenge without the sandbox credential.
fn check_head(s: &Sandbox, method: &Method, headers: &http::HeaderMap) -> Option<Response<Bytes>> {
    if method != Method::POST {
        let mut r = rejected(s, StatusCode::METHOD_NOT_ALLOWED, "use POST");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Some(r);
    }
    (!s.authorized(headers)).then(|| {
        challenge(rejected(
            s,
            StatusCode::UNAUTHORIZED,
            "authentication failed: HTTP Basic with the sandbox pharmacy credential required",
        ))
    })
}

#[async_trait::async_trait]
impl Endpoint for Script {
    fn path(&self) -> &str {
        "/sandbox/pharmacy/script"
    }

    /// Method and credentials, checked before the gateway reads or reserves the body (a
    /// refused request still counts in `posts`, as it does when `call` refuses it).
    fn refuse_head(&self, head: &http::request::Parts) -> Option<Response<Bytes>> {
        let refused = check_head(&self.0, &head.method, &head.headers);
        if refused.is_some() {
            self.0.stats.posts.fetch_add(1, Ordering::Relaxed);
        }
        refused
    }

    async fn call(&self, request: Request<Bytes>) -> Response<Bytes> {
        let s = &self.0;
        s.stats.posts.fetch_add(1, Ordering::Relaxed);
        if let Some(refused) = check_head(s, request.method(), request.headers()) {
            return refused;
        }
        let mode = s.mode();
        if mode == Mode::Down {
            s.stats.refused_down.fetch_add(1, Ordering::Relaxed);
            let h = answer_header(s, None);
            return xml(
                StatusCode::SERVICE_UNAVAILABLE,
                error(&h, "600", None, "pharmacy system down; try again later"),
            );
        }
        if mode == Mode::Slow {
            tokio::time::sleep(Duration::from_secs_f64(s.config.slow_seconds)).await;
        }
        let m = match parse_message(request.body()) {
            Ok(m) => m,
            Err(e) => return rejected(s, StatusCode::BAD_REQUEST, &e.to_string()),
        };
        if matches!(m.body, Body::NewRx(_)) {
            s.stats.new_rx_received.fetch_add(1, Ordering::Relaxed);
        }
        if mode == Mode::Error601 && matches!(m.body, Body::NewRx(_)) {
            let h = answer_header(s, Some(&m));
            return xml(
                StatusCode::OK,
                error(
                    &h,
                    "601",
                    None,
                    "receiver unable to process (sandbox mode error-601)",
                ),
            );
        }
        let request_xml = String::from_utf8_lossy(request.body()).into_owned();
        // A CancelRx is approved when the fill of the NewRx it names is still owed.
        let cancels = m
            .header
            .relates_to_message_id
            .clone()
            .filter(|_| matches!(m.body, Body::CancelRx(_)));
        let fill_owed = match &cancels {
            Some(new_rx) => s.ledger.get(new_rx).await.is_some_and(|e| !e.done),
            None => false,
        };
        let decided = s
            .ledger
            .once(&s.name, &m.header.message_id, || {
                decide(s, &m, request_xml, fill_owed)
            })
            .await;
        if let (Ok((200, _, true)), Some(new_rx), true) = (&decided, &cancels, fill_owed)
            && let Err(e) = s.ledger.done(&s.name, new_rx).await
        {
            tracing::warn!(adapter = %s.name, error = %e, "sandbox ledger write failed");
        }
        match decided {
            Ok((status_code, answer, first)) => {
                if first {
                    if let Some(e) = s.ledger.get(&m.header.message_id).await
                        && e.follow_up
                    {
                        follow_up::spawn(s.clone(), m.header.message_id.clone());
                    }
                } else {
                    s.stats.repeats.fetch_add(1, Ordering::Relaxed);
                }
                xml(
                    StatusCode::from_u16(status_code).unwrap_or(StatusCode::OK),
                    answer,
                )
            }
            Err(e) => {
                tracing::warn!(adapter = %s.name, error = %e, "sandbox ledger write failed");
                let h = answer_header(s, Some(&m));
                xml(
                    StatusCode::SERVICE_UNAVAILABLE,
                    error(&h, "600", None, "pharmacy storage failed; try again later"),
                )
            }
        }
    }

    /// A SCRIPT Error 900, like the endpoint's own refusals.
    fn refuse(&self, status: StatusCode, reason: &str) -> Response<Bytes> {
        rejected(&self.0, status, reason)
    }
}

/// What the pharmacy answers a message seen for the first time.
fn decide(s: &Sandbox, m: &Message, request: String, fill_owed: bool) -> Entry {
    let h = answer_header(s, Some(m));
    let refuse = |why: &str| Entry {
        kind: m.body.name().to_owned(),
        status: 400,
        answer: error(&h, "900", None, why),
        request: String::new(),
        follow_up: false,
        done: true,
        approved: None,
    };
    if m.header.to.as_deref() != Some(s.config.ncpdp_id.as_str()) {
        return refuse("To does not name this pharmacy");
    }
    match &m.body {
        Body::NewRx(_) => {
            let missing = missing_elements(m);
            if !missing.is_empty() {
                return refuse(&format!(
                    "missing required elements: {}",
                    missing.join("; ")
                ));
            }
        }
        Body::CancelRx(_) => {}
        other => return refuse(&format!("{} is not accepted by a pharmacy", other.name())),
    }
    Entry {
        kind: m.body.name().to_owned(),
        status: 200,
        answer: status(&h, "010", None),
        request,
        follow_up: true,
        done: false,
        approved: matches!(m.body, Body::CancelRx(_)).then_some(fill_owed),
    }
}
