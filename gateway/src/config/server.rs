//! `server:` — where fhirgate listens, its public base URL, its data directory and HTTP limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

/// `max_connections` where the file-descriptor limit cannot be read.
pub const UNKNOWN_FD_LIMIT_CONNECTIONS: usize = 10_000;

/// The cap on open connections ([`ServerConfig::connection_cap`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCap {
    /// Most connections open at once.
    pub max: usize,
    /// Most the file-descriptor limit leaves room for after the reserve (`None`: unknown).
    pub fits: Option<usize>,
}

/// The `server` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (`HOST:PORT`; port 0 picks a free one). Default `127.0.0.1:8080`.
    /// Env override: `FHIRGATE_LISTEN`.
    pub listen: SocketAddr,
    /// Public base URL of the FHIR API used in links (`Bundle.link`, `fullUrl`, `Location`),
    /// e.g. `https://gateway.example.org/fhir`. Unset: the request's scheme and Host + `/fhir`.
    /// Env override: `FHIRGATE_BASE_URL`.
    pub base_url: Option<String>,
    /// Directory for runtime state (embedded store, keys, outbox, audit). Default `./data`.
    /// Env override: `FHIRGATE_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Largest accepted request body (e.g. `16MiB`); larger answers 413. Default 16 MiB.
    pub body_limit: ByteSize,
    /// Most request-body bytes buffered at once across all requests (e.g. `256MiB`), at least
    /// `body_limit`. A request whose body is buffered whole (FHIR creates, updates, batch and
    /// transaction Bundles, adapter endpoints) reserves its `Content-Length` (a chunked body:
    /// `body_limit`) before it is read and holds it until its response is produced; bodies
    /// under 8 KiB and the streamed `$ingest` reserve nothing. When the budget is spent, a
    /// request waits up to 2 s, then answers 503 `throttled` with `Retry-After` before any
    /// adapter is called. Parsing holds a few copies of a body, so the memory bounded is a
    /// small multiple of this. Default 256 MiB.
    pub max_buffered_request_bytes: ByteSize,
    /// Most of `max_buffered_request_bytes` one client holds at once (e.g. `64MiB`), so one
    /// client's many large requests cannot keep every other client's out. The client is the
    /// validated token's client (`client_id`, else `azp`, else `sub`) together with the user
    /// it acts for (`fhirUser`, else the `patient` context); without a valid token, the peer
    /// IP. A request whose reservation would pass its client's share answers 429 `throttled`
    /// with `Retry-After` at once, before its body is read (RFC 6585 §4: that client sent
    /// too much; a spent total budget stays 503). At least `body_limit`, at most
    /// `max_buffered_request_bytes` (equal: no share, only the total applies). Default a
    /// quarter of `max_buffered_request_bytes`, at least `body_limit` (64 MiB by default).
    pub max_buffered_request_bytes_per_client: Option<ByteSize>,
    /// Longest pause, in seconds, between two parts of a request body while the gateway reads
    /// it. A client that stops sending is answered 408 `timeout` with `Connection: close`
    /// (RFC 9110 §15.5.9) and its buffered-body reservation is returned. Also bounds the
    /// streamed `$ingest`. Default 10.
    pub body_idle_timeout_seconds: f64,
    /// Longest time, in seconds, from the start of reading a request body to its end, so a
    /// body trickled just fast enough to pass the idle limit is also answered 408 `timeout`
    /// (`Connection: close`). The default lets a 16 MiB body (the default `body_limit`) arrive
    /// at about 280 KB/s. The streamed `$ingest` has no total limit (`ingest.max_bytes`
    /// bounds it). Default 60.
    pub body_read_timeout_seconds: f64,
    /// Longest time, in seconds, a connection may take to send a whole request head (request
    /// line and header fields), counted from when the gateway starts waiting for it: when
    /// the connection is accepted, and on a keep-alive connection as soon as the previous
    /// answer is written. So it also bounds an idle keep-alive connection and one that never
    /// sends anything. Past it the connection is closed without an answer (RFC 9112 §9.5:
    /// a server may close an idle connection at any time; a slowloris client trickling
    /// header lines cannot hold it open). hyper's own request-head timer, one per head read;
    /// a body is bounded by the two settings above, not by this one. Default 30 (hyper's
    /// default for this timer).
    pub header_read_timeout_seconds: f64,
    /// Most connections open at once, across all clients. A connection accepted at it
    /// evicts the oldest *silent* connection (accepted, no request head read yet; counted
    /// in `fhirgate_connections_evicted_total`), so silent connections from many addresses
    /// cannot keep out a client that sends its request at once; when none is silent, it is
    /// closed at once, without an answer (the client sees the close rather than a hang), and
    /// counted in `fhirgate_connections_refused_total{reason="max_connections"}`. So many
    /// connections can no longer use up the process's file descriptors, which the store,
    /// the audit trail and upstream calls need too. Unset (the default): the soft
    /// `RLIMIT_NOFILE` (`ulimit -n`, which fhirgate raises to the hard limit at startup) less
    /// a reserve of a tenth of it, at least 256 and at most half of it, for those other files
    /// and sockets: 18 000 under a limit of 20 000, 768 under 1024. A value above that is used
    /// as given, with a warning at startup. At least 1. Open connections:
    /// `fhirgate_connections_open`.
    pub max_connections: Option<usize>,
    /// Most connections from one client address that have not yet sent a whole first
    /// request head (per IPv4 address, per IPv6 /64 prefix). A connection counts from when
    /// it is accepted until the gateway reads its first request head; one that sent a request
    /// and waits keep-alive for its next does not count. A connection accepted past it is
    /// closed at once and counted in `fhirgate_connections_refused_total{reason="per_ip_silent"}`,
    /// so one address holding connections open without a request (slowloris) cannot take
    /// `max_connections` from everyone else, while clients that send their request right
    /// after connecting, a reverse proxy for many users included, never meet it. 0: no
    /// per-address limit (`max_connections` still applies). Silent connections of all
    /// addresses: `fhirgate_connections_silent`. Default 256.
    pub max_silent_connections_per_ip: usize,
    /// Most entries in a batch or transaction Bundle (FHIR R4 §3.1.0.11); more answers 413
    /// `too-long` before any entry is authorized or run. Default 500 (the limit of Azure
    /// API for FHIR / Azure Health Data Services). With a `store` adapter at most 1000, the
    /// most the embedded store processes in one Bundle.
    pub max_bundle_entries: usize,
    /// Largest answer built in memory for one request (e.g. `32MiB`): a batch- or
    /// transaction-response, or one search or history page of the embedded store with its
    /// `_include`/`_revinclude` resources. Past it: batch entries answer 413 `too-costly`,
    /// a transaction is rolled back with 413, a page ends early with a `next` link
    /// (included resources left out are named in a warning). Default 32 MiB.
    pub max_answer_bytes: ByteSize,
    /// Derive the public base from `X-Forwarded-Proto`/`X-Forwarded-Host` when `base_url`
    /// is unset. Enable only behind a proxy that sets them. Default false.
    pub trust_forwarded_headers: bool,
    /// Seconds in-flight requests get to finish after SIGTERM before exit. Default 30.
    pub shutdown_grace_seconds: f64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: None,
            data_dir: PathBuf::from("./data"),
            body_limit: ByteSize::mib(16),
            max_buffered_request_bytes: ByteSize::mib(256),
            max_buffered_request_bytes_per_client: None,
            body_idle_timeout_seconds: 10.0,
            body_read_timeout_seconds: 60.0,
            header_read_timeout_seconds: 30.0,
            max_connections: None,
            max_silent_connections_per_ip: 256,
            max_bundle_entries: 500,
            max_answer_bytes: ByteSize::b(fhirgate_adapters::DEFAULT_MAX_ANSWER_BYTES as u64),
            trust_forwarded_headers: false,
            shutdown_grace_seconds: 30.0,
        }
    }
}

impl ServerConfig {
    /// Pure checks; `(key.path, problem)` pairs.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if let Some(base) = &self.base_url {
            match url::Url::parse(base) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {}
                _ => problems.push((
                    "server.base_url".into(),
                    "must be an absolute http(s) URL without query, e.g. https://gw.example.org/fhir".into(),
                )),
            }
        }
        if self.body_limit.as_u64() == 0 {
            problems.push(("server.body_limit".into(), "must be greater than 0".into()));
        }
        if self.max_buffered_request_bytes.as_u64() < self.body_limit.as_u64() {
            problems.push((
                "server.max_buffered_request_bytes".into(),
                format!(
                    "must be at least server.body_limit ({} bytes): a body at that limit must fit",
                    self.body_limit.as_u64()
                ),
            ));
        }
        if let Some(share) = self.max_buffered_request_bytes_per_client {
            let share = share.as_u64();
            if share < self.body_limit.as_u64() || share > self.max_buffered_request_bytes.as_u64()
            {
                problems.push((
                    "server.max_buffered_request_bytes_per_client".into(),
                    "must be at least server.body_limit and at most server.max_buffered_request_bytes".into(),
                ));
            }
        }
        for (key, seconds) in [
            ("body_idle_timeout_seconds", self.body_idle_timeout_seconds),
            ("body_read_timeout_seconds", self.body_read_timeout_seconds),
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
        ] {
            if !std::time::Duration::try_from_secs_f64(seconds).is_ok_and(|d| !d.is_zero()) {
                problems.push((
                    format!("server.{key}"),
                    "must be a number of seconds > 0".into(),
                ));
            }
        }
        if self.max_connections == Some(0) {
            problems.push(("server.max_connections".into(), "must be at least 1".into()));
        }
        if self.max_bundle_entries == 0 {
            problems.push((
                "server.max_bundle_entries".into(),
                "must be at least 1".into(),
            ));
        }
        if self.max_answer_bytes.as_u64() < 64 * 1024 {
            problems.push((
                "server.max_answer_bytes".into(),
                "must be at least 64KiB".into(),
            ));
        }
        if std::time::Duration::try_from_secs_f64(self.shutdown_grace_seconds).is_err() {
            problems.push((
                "server.shutdown_grace_seconds".into(),
                "must be a number of seconds >= 0".into(),
            ));
        }
        problems
    }

    /// [`Self::max_answer_bytes`] in bytes, as a buffer size.
    pub fn answer_limit(&self) -> usize {
        usize::try_from(self.max_answer_bytes.as_u64()).unwrap_or(usize::MAX)
    }

    /// `body_idle_timeout_seconds` and `body_read_timeout_seconds` as durations (valid ones:
    /// see [`Self::validate`]; an invalid one reads as 10 s or 60 s).
    pub fn body_timeouts(&self) -> (Duration, Duration) {
        let secs = |s: f64, default: u64| {
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs(default))
        };
        (
            secs(self.body_idle_timeout_seconds, 10),
            secs(self.body_read_timeout_seconds, 60),
        )
    }

    /// One client's share of the buffered-body budget in bytes, `None` when it is the whole
    /// budget (see `max_buffered_request_bytes_per_client`).
    pub fn client_share_bytes(&self) -> Option<u64> {
        let total = self.max_buffered_request_bytes.as_u64();
        let share = match self.max_buffered_request_bytes_per_client {
            Some(share) => share.as_u64(),
            None => (total / 4).max(self.body_limit.as_u64()),
        };
        (share < total).then_some(share)
    }

    /// `header_read_timeout_seconds` as a duration (an invalid one reads as 30 s; see
    /// [`Self::validate`]).
    pub fn header_read_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.header_read_timeout_seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(30))
    }

    /// The cap on open connections under a soft `RLIMIT_NOFILE` of `nofile` (`None`: the
    /// limit could not be read), and whether it fits that limit (see `max_connections`).
    pub fn connection_cap(&self, nofile: Option<u64>) -> ConnectionCap {
        let fits = nofile.map(|n| {
            let reserve = (n / 10).max(256).min(n / 2);
            usize::try_from(n - reserve).unwrap_or(usize::MAX)
        });
        let max = match (self.max_connections, fits) {
            (Some(max), _) => max,
            (None, Some(fits)) => fits,
            (None, None) => UNKNOWN_FD_LIMIT_CONNECTIONS,
        };
        ConnectionCap { max, fits }
    }

    /// The configured public base without a trailing slash, if set.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref().map(|b| b.trim_end_matches('/'))
    }
}
