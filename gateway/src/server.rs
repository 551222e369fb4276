//! Startup and shutdown: build adapters, bind, print the ready line, drain on SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fhirgate_adapters::BuildContext;
use indexmap::IndexMap;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::state::AppState;

mod connections;
mod fd_limit;
mod http;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("cannot create data directory {dir}: {source}")]
    DataDir {
        /// The directory.
        dir: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An adapter could not be built.
    #[error(transparent)]
    Adapter(#[from] fhirgate_adapters::AdapterError),
    /// The authorization setup (sandbox key, client keys) failed.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthBuildError),
    /// The audit trail or shared state could not be set up.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// Two adapters serve the same endpoint path, or one collides with the gateway's own.
    #[error("adapter {adapter}: endpoint {path}: {problem}")]
    Endpoint {
        /// The adapter serving it.
        adapter: String,
        /// The endpoint path.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// Creates the data directory and builds every adapter, in config order.
pub async fn build_state(config: Config) -> Result<Arc<AppState>, StartError> {
    build(config).await.map(|(state, _)| state)
}

/// Like [`build_state`], also returning the adapters' [`BuildContext`] (its `self_url` is
/// set once the listener is bound).
async fn build(config: Config) -> Result<(Arc<AppState>, BuildContext), StartError> {
    let data_dir = config.server.data_dir.clone();
    create_private_dir(&data_dir).map_err(|source| StartError::DataDir {
        dir: data_dir.display().to_string(),
        source,
    })?;
    let mut ctx = BuildContext::new(data_dir.clone());
    ctx.max_answer_bytes = config.server.answer_limit();
    for (name, adapter) in &config.adapters {
        let built = adapter.build(name, &ctx).await?;
        tracing::info!(adapter = %name, kind = adapter.kind(), "adapter built");
        ctx.adapters.insert(name.clone(), built);
    }
    check_endpoints(&ctx.adapters)?;
    let auth = crate::auth::Auth::build(&config.auth, &data_dir)?;
    let policy = crate::policy::Policy::build(&config, &data_dir).await?;
    // Resources adapters write on their own (pharmacy answers, Task updates) invalidate
    // cached reads exactly as writes through the edge do.
    if let Some(cache) = &policy.cache {
        cache.follow(&ctx.changes);
    }
    let mut state = AppState::with_auth(config, ctx.adapters.clone(), auth);
    state.policy = policy;
    Ok((Arc::new(state), ctx))
}

/// Every adapter endpoint path is absolute, outside the gateway's own paths and unique.
fn check_endpoints(
    adapters: &IndexMap<String, fhirgate_adapters::SharedAdapter>,
) -> Result<(), StartError> {
    let mut seen: IndexMap<String, String> = IndexMap::new();
    for (name, adapter) in adapters {
        for endpoint in adapter.endpoints() {
            let path = endpoint.path().to_owned();
            let fail = |problem: String| StartError::Endpoint {
                adapter: name.clone(),
                path: path.clone(),
                problem,
            };
            if !crate::is_adapter_endpoint_path(&path) {
                return Err(fail(
                    "must start with / and not be a path the gateway serves itself".into(),
                ));
            }
            if let Some(other) = seen.insert(path.clone(), name.clone()) {
                return Err(fail(format!("adapter {other} serves it already")));
            }
        }
    }
    Ok(())
}

/// Serves `config` on `listen` until SIGTERM or SIGINT, then drains in-flight requests for
/// at most `server.shutdown_grace_seconds` and returns. Prints exactly one line to stdout
/// when ready: `fhirgate listening on http://HOST:PORT`. Closes the audit trail last
/// ([`crate::policy::audit::AuditTrail::close`], waiting at most `audit.write_timeout_ms`).
/// HTTP/1.1 only, each connection closed when it does not send a whole request head within
/// `server.header_read_timeout_seconds` ([`http::serve`]); raises the soft file-descriptor
/// limit to the hard one and closes connections past `server.max_connections` and
/// `server.max_silent_connections_per_ip` as soon as they are accepted.
pub async fn run(config: Config, listen: SocketAddr) -> Result<(), StartError> {
    let grace = Duration::try_from_secs_f64(config.server.shutdown_grace_seconds)
        .unwrap_or(Duration::from_secs(30));
    // Signal handlers exist before the ready line, so an early SIGTERM still drains.
    let stop = shutdown_signal()?;
    let audit_timeout = Duration::from_millis(config.audit.write_timeout_ms);
    let header_read_timeout = config.server.header_read_timeout();
    let connections = connection_limits(&config.server);
    let (state, ctx) = build(config).await?;
    let audit = state.policy.audit.clone();
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    // Adapters that call the gateway itself (sandbox pharmacy → /ncpdp/script) learn the
    // bound port here; port 0 is resolved by now.
    let reachable = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    };
    if let Ok(url) = url::Url::parse(&format!("http://{reachable}")) {
        let _ = ctx.self_url.set(url);
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "fhirgate listening on http://{addr}");
    let _ = stdout.flush();
    tracing::info!(%addr, "listening");
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        stop.await;
        tracing::info!("shutdown signal received; draining in-flight requests");
        let _ = stop_tx.send(true);
    };
    let server = http::serve(
        listener,
        crate::app(state),
        header_read_timeout,
        connections,
        signal,
    );
    let deadline = async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => {}
        () = deadline => tracing::warn!(seconds = grace.as_secs_f64(), "drain deadline reached; exiting"),
    }
    // The audit writer is a task of the caller's runtime: closed here, before that runtime
    // is dropped (which would cancel it in the middle of its last batch or checkpoint), it
    // stores what is still queued and replaces the checkpoint.
    if let Some(audit) = audit
        && !audit.close(audit_timeout).await
    {
        tracing::error!(
            seconds = audit_timeout.as_secs_f64(),
            "audit writer did not finish at shutdown; queued records are lost, run `fhirgate audit verify`"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// Raises the file-descriptor limit (before the store and the audit trail open their files)
/// and sets the connection caps from it; warns when `server.max_connections` passes what the
/// limit leaves room for.
fn connection_limits(server: &crate::config::ServerConfig) -> Arc<connections::Connections> {
    // The metric handles taken below must be the recorder's, not the no-op ones of before.
    crate::observe::metrics_handle();
    let nofile = fd_limit::raise_nofile();
    let cap = server.connection_cap(nofile);
    match cap.fits {
        Some(fits) if cap.max > fits => tracing::warn!(
            max_connections = cap.max,
            fd_limit = nofile,
            fits,
            "server.max_connections exceeds what the file-descriptor limit leaves room for; \
             past it accepting fails (\"Too many open files\") and requests stall"
        ),
        None => tracing::warn!(
            max_connections = cap.max,
            "file-descriptor limit unknown; server.max_connections is not checked against it"
        ),
        Some(_) => tracing::info!(
            max_connections = cap.max,
            fd_limit = nofile,
            max_silent_connections_per_ip = server.max_silent_connections_per_ip,
            "connection limits"
        ),
    }
    connections::Connections::new(cap.max, server.max_silent_connections_per_ip)
}

/// Registers SIGTERM and SIGINT handlers now; the returned future completes on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, StartError> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(StartError::Serve)?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(StartError::Serve)?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Creates the data directory readable by its owner only (0700): it holds the store, the
/// audit trail and keys. An existing directory open to others is logged, not changed.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        } else if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), "data directory is readable by other users; chmod 700 it");
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}
