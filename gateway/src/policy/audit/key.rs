//! The audit HMAC key: from `audit.key` (normally `${ENV}`), `audit.key_file`, or — for the
//! embedded default — `audit.key` in the data dir, generated with mode 0600 on first start.
//! The key never sits beside the log it protects in production: keep it in a secret store.

use std::io::Write;
use std::path::Path;

use super::config::AuditConfig;
use crate::policy::PolicyError;

/// Resolves the key bytes. `create` generates the default key file when it does not exist
/// (`serve`); `audit verify` passes false and fails instead.
pub fn load(config: &AuditConfig, data_dir: &Path, create: bool) -> Result<Vec<u8>, PolicyError> {
    if let Some(key) = &config.key {
        return Ok(key.trim().as_bytes().to_vec());
    }
    let path = match &config.key_file {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => data_dir.join(p),
        None => data_dir.join("audit.key"),
    };
    let err = |detail: String| PolicyError::AuditKey {
        path: path.display().to_string(),
        detail,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => Err(err("shorter than 32 characters".into())),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && create && config.key_file.is_none() =>
        {
            let key = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            write_private(&path, key.as_bytes()).map_err(|e| err(e.to_string()))?;
            tracing::warn!(
                path = %path.display(),
                "generated the audit HMAC key in the data dir; in production set audit.key or audit.key_file outside it"
            );
            Ok(key.into_bytes())
        }
        Err(e) => Err(err(e.to_string())),
    }
}

/// Creates `path` with mode 0600 (never overwriting) and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
