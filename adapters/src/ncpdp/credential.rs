//! Credentials of the SCRIPT exchange: HTTP Basic in both directions, secrets from config
//! (`${ENV}`) or files, compared in constant time (`subtle`).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use crate::AdapterError;

/// A secret held in memory; never printed.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// Whether `candidate` equals the secret, in time independent of where they differ.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// `Authorization: Basic base64(user:secret)` (RFC 7617).
    pub(crate) fn basic(&self, user: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{}", self.0)))
    }
}

fn under(data_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        data_dir.join(path)
    }
}

/// The secret from `value` or the trimmed content of `file` (relative to `data_dir`);
/// `None` when neither is set.
///
/// Errors: [`AdapterError::Config`] naming `adapter` when the file cannot be read or is
/// empty.
pub(crate) fn load(
    adapter: &str,
    value: Option<&String>,
    file: Option<&PathBuf>,
    data_dir: &Path,
) -> Result<Option<Secret>, AdapterError> {
    if let Some(v) = value {
        return Ok(Some(Secret(v.clone())));
    }
    let Some(file) = file else { return Ok(None) };
    read(adapter, &under(data_dir, file)).map(Some)
}

/// The secret in `file` (relative to `data_dir`), created first with 32 random bytes
/// (base64url, mode 0600) when it does not exist. For sandbox peers only: production
/// secrets are provisioned, never generated.
///
/// Errors: [`AdapterError::Config`] when the file cannot be created or read.
pub(crate) fn load_or_create(
    adapter: &str,
    file: &Path,
    data_dir: &Path,
) -> Result<Secret, AdapterError> {
    let path = under(data_dir, file);
    let fail = |e: std::io::Error| AdapterError::Config {
        adapter: adapter.to_owned(),
        detail: format!("credential file {}: {e}", path.display()),
    };
    if !path.exists() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(secret.as_bytes()).map_err(fail)?;
                f.sync_all().map_err(fail)?;
            }
            // Another builder created it first: read theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e)),
        }
    }
    read(adapter, &path)
}

/// The trimmed, non-empty content of `path`.
fn read(adapter: &str, path: &Path) -> Result<Secret, AdapterError> {
    let text = std::fs::read_to_string(path).map_err(|e| AdapterError::Config {
        adapter: adapter.to_owned(),
        detail: format!("cannot read credential file {}: {e}", path.display()),
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(AdapterError::Config {
            adapter: adapter.to_owned(),
            detail: format!("credential file {} is empty", path.display()),
        });
    }
    Ok(Secret(secret.to_owned()))
}

/// `(user, password)` of an `Authorization: Basic …` header (RFC 7617), if it is one.
pub(crate) fn basic_credentials(headers: &http::HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(token.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
