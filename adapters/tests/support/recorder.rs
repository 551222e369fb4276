//! A tiny HTTP/1.1 upstream for header and query assertions: records every request exactly
//! as received (request line, headers, body) and answers what the test's closure says.
//! Also an upstream that accepts and never answers, and a port nobody listens on.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET /fhir/Patient?x=1 HTTP/1.1`
    pub request_line: String,
    /// Header names (lower-case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The request target (`/fhir/Patient?x=1`), bytes as sent.
    pub fn target(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or_default()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, headers and body (`Content-Length` is added).
#[derive(Debug, Clone)]
pub struct Canned {
    /// HTTP status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Canned {
    /// A FHIR JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/fhir+json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

type Respond = Arc<dyn Fn(&Recorded) -> Canned + Send + Sync>;

/// The recording upstream; stops when dropped.
pub struct Recorder {
    /// `http://127.0.0.1:PORT/fhir`
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Recorder {
    /// Starts on `127.0.0.1:0`, answering each request with `respond(&request)`.
    pub async fn start(respond: impl Fn(&Recorded) -> Canned + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Respond = Arc::new(respond);
        let log = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, log.clone(), respond.clone()));
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}/fhir"),
            requests,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut socket: TcpStream, log: Arc<Mutex<Vec<Recorded>>>, respond: Respond) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        buf.drain(..head_end + 4);
        while buf.len() < length {
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        let recorded = Recorded {
            request_line,
            headers,
            body,
        };
        let canned = respond(&recorded);
        log.lock().expect("requests").push(recorded);
        let mut out = format!("HTTP/1.1 {} X\r\n", canned.status);
        let mut has_length = false;
        for (n, v) in &canned.headers {
            has_length |= n.eq_ignore_ascii_case("content-length");
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        if !has_length {
            out.push_str(&format!("Content-Length: {}\r\n", canned.body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&canned.body);
        if socket.write_all(&bytes).await.is_err() {
            return;
        }
        if has_length {
            // A lying Content-Length: close to break the body off.
            let _ = socket.shutdown().await;
            return;
        }
    }
}

/// A base URL on a port where nothing listens (bound, then closed).
pub fn closed_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/fhir")
}

/// An upstream that accepts connections and never answers; stops when the task is aborted.
pub async fn stalling_upstream() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://127.0.0.1:{port}/fhir"), task)
}
