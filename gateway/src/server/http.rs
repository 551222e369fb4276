//! The HTTP/1.1 accept loop (attack finding MEDIUM 5, slowloris): what `axum::serve` did,
//! plus hyper's request-head timer, which `axum::serve` cannot configure (it sets no
//! [`hyper::rt::Timer`], so hyper never started that timer).
//!
//! hyper starts the timer whenever a connection waits for a request head: right after
//! accept and again as soon as an answer has been written (keep-alive). A client that sends
//! nothing, one that trickles header lines, and an idle keep-alive connection are all
//! closed once `server.header_read_timeout_seconds` pass without a whole head (counted in
//! `fhirgate_request_head_timeouts_total`). The timer is hyper's own; nothing here adds a
//! timer or an allocation per request.
//!
//! HTTP/1.1 only: hyper's HTTP/2 server has no such timer, so an h2c (prior knowledge)
//! connection would sit idle for ever; `axum::serve` answered it only because another
//! crate switched on hyper-util's `http2` feature. An HTTP/2 preface is not answered.
//!
//! Connection limits (attack finding MEDIUM N3, [`super::connections`]): a connection
//! accepted past `server.max_connections`, or past `server.max_silent_connections_per_ip`
//! connections of its address that have sent no request head yet, is closed at once. It is
//! still accepted first, so the client sees a prompt close rather than a hang and the
//! listen backlog does not fill with connections nobody will serve. A connection stops
//! counting as silent when hyper hands its first request to [`PeerService`].
//!
//! Graceful shutdown as `axum::serve` did it: on the stop signal no connection is accepted
//! any more, idle connections close at once, a request in flight finishes and its
//! connection then closes; [`serve`] returns when every connection has closed.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Service;

use super::connections::{Connections, SilentSlot};

/// Serves `app` on `listener` until `stop` completes, then stops accepting, lets every
/// connection finish its request in flight and returns once all have closed. The peer
/// address is in each request's extensions as [`ConnectInfo<SocketAddr>`]. Connections past
/// the caps of `connections` are closed as soon as they are accepted.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    connections: Arc<Connections>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    // Dropping the receiver tells every connection task to shut down gracefully.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        stop.await;
        drop(signal_rx);
    });
    // Each connection task holds a receiver; all dropped = all connections closed.
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = signal_tx.closed() => break,
        };
        // Refused: dropped here, which closes it.
        let Ok((open, silent)) = connections.admit(peer.ip()) else {
            continue;
        };
        let eviction = silent.eviction();
        let service = PeerService {
            router: app.clone(),
            peer,
            silent,
        };
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            // Declared first, dropped last: the connection counts as open until it is closed.
            let _open = open;
            let mut conn = pin!(conn);
            let mut stopping = pin!(signal_tx.closed());
            let mut evicted = pin!(eviction.wait());
            let mut draining = false;
            loop {
                tokio::select! {
                    // An error here is the client's (reset, timeout, bad framing).
                    result = conn.as_mut() => {
                        if result.is_err_and(|e| e.is_timeout()) {
                            metrics::counter!("fhirgate_request_head_timeouts_total")
                                .increment(1);
                        }
                        break;
                    }
                    // Evicted at the total cap while silent: dropping it closes it.
                    () = &mut evicted => break,
                    () = &mut stopping, if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

/// After a failed accept: a connection that failed before it was accepted is skipped; any
/// other error (out of file descriptors) is logged and accepting pauses for a second, as
/// `axum::serve` does, instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The router for one connection, adding the peer address to each request (what
/// `into_make_service_with_connect_info` did); it holds the connection's place among the
/// silent ones until the first request.
struct PeerService {
    router: Router,
    peer: SocketAddr,
    silent: SilentSlot,
}

impl hyper::service::Service<http::Request<Incoming>> for PeerService {
    type Response = Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut request: http::Request<Incoming>) -> Self::Future {
        // From the first request on the connection is no longer silent: one relaxed load.
        self.silent.spoke();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // Router::call needs `&mut`; a clone is an `Arc` count, as in `axum::serve`.
        self.router.clone().call(request)
    }
}
