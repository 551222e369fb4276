//! Node peers for the SMART tests (a copy of `adapters/tests/support/peers.rs`, which gateway
//! tests cannot reach) (`tests/peers/`): installs the npm packages once (cross-process
//! file lock, since test binaries run concurrently), spawns a peer script, reads the one line
//! it prints when ready, collects its stderr, and kills it on drop.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// `tests/peers/` at the repository root.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers")
}

/// Runs `npm ci` in `tests/peers/` unless `node_modules` matches `package-lock.json`.
/// Concurrent test binaries wait on a file lock; the marker is written after success only.
pub fn ensure_npm_packages() {
    let dir = peers_dir();
    let lock_json = std::fs::read(dir.join("package-lock.json")).expect("package-lock.json");
    let digest = format!("{:x}", Sha256::digest(&lock_json));
    let marker = dir.join("node_modules/.fhirgate-installed");
    let installed = || std::fs::read_to_string(&marker).is_ok_and(|m| m == digest);
    if installed() {
        return;
    }
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fhirgate-npm-install.lock");
    let lock = File::create(&lock_path).expect("create npm lock file");
    lock.lock().expect("lock npm install");
    if !installed() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .expect("npm runs (Node.js 20 must be installed)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
        std::fs::write(&marker, &digest).expect("write install marker");
    }
    lock.unlock().expect("unlock npm install");
}

/// A running peer process; killed when dropped.
pub struct Peer {
    child: Child,
    /// The line the peer printed when ready (a port or an issuer URL).
    pub ready_line: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    /// Spawns `node tests/peers/<script> <args>` with `envs`, after installing the npm
    /// packages, and waits (up to 30 s) for its ready line.
    pub fn spawn(script: &str, args: &[&str], envs: &[(&str, &str)]) -> Peer {
        ensure_npm_packages();
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .envs(envs.iter().copied())
            .current_dir(peers_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("stderr lines").push(line);
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let ready_line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut peer = Peer {
            child,
            ready_line,
            stderr: lines,
        };
        if peer.ready_line.is_empty() {
            let _ = peer.child.kill();
            panic!("{script} did not start: {:?}", peer.stderr_lines());
        }
        peer
    }

    /// The medplum FHIR server; its base URL is `http://127.0.0.1:PORT/fhir/R4`.
    pub fn medplum() -> (Peer, String) {
        let peer = Peer::spawn("medplum-server.mjs", &["/fhir/R4"], &[]);
        let base = format!("http://127.0.0.1:{}/fhir/R4", peer.ready_line);
        (peer, base)
    }

    /// What the peer wrote on stderr so far (medplum: one `METHOD URL` line per request).
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lines").clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
