//! The process's file-descriptor limit (`RLIMIT_NOFILE`), which every connection, store
//! file, audit file and upstream socket counts against; `server.max_connections` is derived
//! from it (attack finding MEDIUM N3).
//!
//! At startup the soft limit is raised to the hard one, as the Go runtime (since 1.19) and
//! nginx's `worker_rlimit_nofile` do: the soft limit is often 1024 for compatibility with
//! `select(2)`, which fhirgate does not use, and it starts no child process that could
//! inherit the raised limit. Raising the soft limit up to the hard one needs no privilege.
//! Read and set through the `rlimit` crate's safe API (this crate forbids `unsafe`).

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit then in
/// force; `None` where it cannot be read (not a Unix). A failed raise is logged and the
/// unchanged limit returned.
pub(super) fn raise_nofile() -> Option<u64> {
    #[cfg(unix)]
    {
        use rlimit::Resource;
        let (soft, hard) = match Resource::NOFILE.get() {
            Ok(limits) => limits,
            Err(error) => {
                tracing::warn!(%error, "cannot read the file-descriptor limit (RLIMIT_NOFILE)");
                return None;
            }
        };
        if soft >= hard {
            return Some(soft);
        }
        match rlimit::increase_nofile_limit(hard) {
            Ok(raised) => {
                tracing::info!(
                    from = soft,
                    to = raised,
                    "raised the soft file-descriptor limit"
                );
                Some(raised)
            }
            Err(error) => {
                tracing::warn!(%error, soft, hard, "cannot raise the soft file-descriptor limit");
                Some(soft)
            }
        }
    }
    #[cfg(not(unix))]
    None
}
