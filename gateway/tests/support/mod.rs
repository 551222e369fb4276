//! Test support: runs the real `fhirgate` binary on 127.0.0.1:0 with a temporary config and
//! data directory, and stops it with SIGTERM when dropped.
#![allow(dead_code)]

pub mod raw;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The repository root (fixtures live in `tests/fixtures`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fixture's bytes, `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures").join(rel))
        .unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// The token audience test configs accept (`auth.audiences`).
pub const AUDIENCE: &str = "http://fhirgate.test/fhir";

/// An `auth:` section with the sandbox authorization server on, under `issuer`
/// (e.g. `http://fhirgate.test/sandbox/auth`), plus the YAML list items of `clients`.
pub fn auth_section(issuer: &str, clients: &str) -> String {
    let clients = if clients.is_empty() {
        " []".to_owned()
    } else {
        format!("\n{clients}")
    };
    format!(
        "auth:\n  audiences: [{AUDIENCE}]\n  sandbox:\n    enabled: true\n    issuer: {issuer}\n    clients:{clients}\n"
    )
}

/// A running `fhirgate serve`.
pub struct Gateway {
    child: Option<Child>,
    config_path: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// The data directory (kept while the gateway lives).
    pub dir: tempfile::TempDir,
    stderr: mpsc::Receiver<String>,
}

/// A config with one embedded store adapter serving everything; `extra` is appended
/// under `server:` (indented by the caller).
pub fn store_config(server_extra: &str) -> String {
    let auth = auth_section("http://fhirgate.test/sandbox/auth", "");
    format!(
        "server:\n  listen: 127.0.0.1:0\n{server_extra}{auth}adapters:\n  store:\n    kind: store\n    url: sqlite://store.db\nroutes:\n  - resources: [\"*\"]\n    adapters: [store]\n"
    )
}

impl Gateway {
    /// Starts `fhirgate serve` with `config` (YAML) in a fresh data dir; panics if it does
    /// not print its ready line within 60 s.
    pub fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(config, dir)
    }

    /// Like [`Gateway::start`] but in an existing data dir (restarts).
    pub fn start_in(config: &str, dir: tempfile::TempDir) -> Self {
        let config_path = dir.path().join("gateway.yaml");
        std::fs::write(&config_path, config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env("FHIRGATE_DATA_DIR", dir.path().join("data"))
            .env_remove("FHIRGATE_LISTEN")
            .env_remove("FHIRGATE_BASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fhirgate");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = line_tx.send(line);
            }
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let line = line_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let logs: Vec<String> = err_rx.try_iter().collect();
                panic!("fhirgate did not become ready:\n{}", logs.join("\n"))
            });
        let url = line
            .strip_prefix("fhirgate listening on ")
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
            .to_owned();
        Self {
            child: Some(child),
            config_path,
            url,
            dir,
            stderr: err_rx,
        }
    }

    /// `http://127.0.0.1:PORT/fhir` + `path` (which starts with `/` or is empty).
    pub fn fhir(&self, path: &str) -> String {
        format!("{}/fhir{path}", self.url)
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        client()
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// An access token for `scope` from this gateway's sandbox (`fhirgate token`).
    pub fn token(&self, scope: &str) -> String {
        self.token_with(&["--scope", scope])
    }

    /// An access token minted by `fhirgate token` with these extra arguments.
    pub fn token_with(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
            .arg("token")
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .env("FHIRGATE_DATA_DIR", self.dir.path().join("data"))
            .output()
            .expect("run fhirgate token");
        assert!(
            out.status.success(),
            "fhirgate token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Creates (or replaces) a minimal `Patient/{id}` in the store with a system token, for
    /// tests that need a subject to exist (e.g. `$ingest`).
    pub async fn put_patient(&self, id: &str) {
        let r = self
            .system_client()
            .put(self.fhir(&format!("/Patient/{id}")))
            .header("content-type", "application/fhir+json")
            .body(format!(r#"{{"resourceType":"Patient","id":"{id}"}}"#))
            .send()
            .await
            .expect("PUT Patient");
        assert!(r.status().is_success(), "PUT Patient/{id}: {}", r.status());
    }

    /// A client sending a `system/*.*` token from this gateway's sandbox.
    pub fn system_client(&self) -> reqwest::Client {
        authed(&self.token("system/*.*"))
    }

    /// Log lines written so far.
    pub fn logs(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("fhirgate did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (SIGKILL) and hands back the data dir for a restart.
    pub fn kill(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A blocking-free HTTP client for tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn authed(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("token header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .expect("client")
}

/// A free port on 127.0.0.1 (bound, then released), for configs that must know their port.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Runs `fhirgate` with `args` to completion: (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run fhirgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
