//! The stack's floor for the proxy benchmark (issue 10): what the crates fhirgate is built
//! on (tokio, hyper, axum, reqwest with rustls, mimalloc) achieve with none of fhirgate's
//! own work, served beside nginx and fhirgate by `bench/run` so the three are measured in
//! the same rounds.
//!
//! - `floor proxy LISTEN UPSTREAM_ORIGIN`: every request's path and query are forwarded as
//!   a GET to `UPSTREAM_ORIGIN` (e.g. `http://127.0.0.1:18091`) with the client's `Accept`,
//!   through one pooled `reqwest::Client` configured as fhirgate's `fhir` adapter (timeouts,
//!   no redirects, a user agent); the answer's status, `Content-Type` and body go back
//!   unchanged. No token, policy, rate limit, cache, link rewrite, audit or access log.
//! - `floor fixed LISTEN FILE`: every request is answered `200` with `FILE`'s bytes (held
//!   in memory) as `application/fhir+json`: a cache hit with none of fhirgate's work.
//!
//! Both serve with `axum::serve` on a multi-threaded runtime with as many workers as cores,
//! as `fhirgate serve` does. Build and run:
//! `cargo build --release -p fhirgate --bench floor`, then the executable it names with the
//! arguments above. Without them (as under `cargo bench`) it prints this usage and exits 0.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

/// As in the `fhirgate` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: floor proxy LISTEN UPSTREAM_ORIGIN | floor fixed LISTEN FILE";

/// What a request is answered with.
#[derive(Clone)]
enum Mode {
    /// Forwarded to this origin (scheme, host and port, no trailing `/`).
    Proxy {
        client: reqwest::Client,
        origin: String,
    },
    /// These bytes.
    Fixed(Bytes),
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, listen) = match args.as_slice() {
        [m, listen, origin] if m == "proxy" => {
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("fhirgate-floor")
                .build();
            match client {
                Ok(client) => (
                    Mode::Proxy {
                        client,
                        origin: origin.trim_end_matches('/').to_owned(),
                    },
                    listen,
                ),
                Err(e) => return fail(&format!("cannot build the HTTP client: {e}")),
            }
        }
        [m, listen, file] if m == "fixed" => match std::fs::read(file) {
            Ok(bytes) => (Mode::Fixed(Bytes::from(bytes)), listen),
            Err(e) => return fail(&format!("cannot read {file}: {e}")),
        },
        _ => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
    };
    let Ok(listen) = listen.parse::<SocketAddr>() else {
        return fail(&format!("not a socket address: {listen}"));
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(serve(mode, listen)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("floor: {message}\n{USAGE}");
    std::process::ExitCode::FAILURE
}

async fn serve(mode: Mode, listen: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("floor: listening on {}", listener.local_addr()?);
    let app = Router::new().fallback(answer).with_state(mode);
    axum::serve(listener, app).await
}

async fn answer(State(mode): State<Mode>, request: Request) -> Response {
    match mode {
        Mode::Fixed(bytes) => fhir_json(StatusCode::OK, bytes),
        Mode::Proxy { client, origin } => {
            let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
            let mut forward = client.get(format!("{origin}{target}"));
            if let Some(accept) = request.headers().get(header::ACCEPT) {
                forward = forward.header(header::ACCEPT, accept);
            }
            let answer = match forward.send().await {
                Ok(answer) => answer,
                Err(_) => return fhir_json(StatusCode::BAD_GATEWAY, Bytes::new()),
            };
            let status = answer.status();
            match answer.bytes().await {
                Ok(body) => fhir_json(status, body),
                Err(_) => fhir_json(StatusCode::BAD_GATEWAY, Bytes::new()),
            }
        }
    }
}

fn fhir_json(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    response
}
