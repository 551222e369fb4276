//! One upstream HTTP client per thread: a request's upstream connection is then created,
//! driven and reused by the thread that serves the request, so relaying an answer wakes
//! no other thread (the gateway serves each connection on one thread, see its `server`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Settings every per-thread client of one adapter shares.
#[derive(Debug)]
pub struct LocalClients {
    /// Process-unique key of the adapter in each thread's table.
    key: usize,
    connect_timeout: Duration,
    timeout: Duration,
    /// The client used when a thread's own cannot be built (it never failed in practice:
    /// the TLS configuration is the same as for `shared`, which was built at startup).
    shared: reqwest::Client,
}

static NEXT_KEY: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's clients, by [`LocalClients::key`] (a gateway has a handful of adapters).
    static CLIENTS: RefCell<Vec<(usize, reqwest::Client)>> = const { RefCell::new(Vec::new()) };
}

impl LocalClients {
    /// Builds the shared client now (rustls, no redirects followed, the given timeouts).
    /// Errors: the TLS backend could not be initialised (`reqwest::Error`).
    pub fn new(connect_timeout: Duration, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            connect_timeout,
            timeout,
            shared: build(connect_timeout, timeout)?,
        })
    }

    /// The calling thread's client (built on first use; a cheap `Arc` clone after that).
    pub fn get(&self) -> reqwest::Client {
        CLIENTS.with(|cell| {
            let mut clients = cell.borrow_mut();
            if let Some((_, client)) = clients.iter().find(|(k, _)| *k == self.key) {
                return client.clone();
            }
            let client = build(self.connect_timeout, self.timeout).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "per-thread upstream client not built; using the shared one");
                self.shared.clone()
            });
            clients.push((self.key, client.clone()));
            client
        })
    }

    /// The client shared by all threads (health checks, which are rare).
    pub fn shared(&self) -> &reqwest::Client {
        &self.shared
    }
}

/// The upstream client as every adapter thread uses it.
pub fn build(connect_timeout: Duration, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("fhirgate/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_reuses_its_client_and_another_thread_gets_its_own() {
        let clients =
            LocalClients::new(Duration::from_secs(1), Duration::from_secs(2)).expect("client");
        clients.get();
        clients.get();
        let here = CLIENTS.with(|c| c.borrow().iter().filter(|(k, _)| *k == clients.key).count());
        assert_eq!(here, 1);
        std::thread::scope(|s| {
            s.spawn(|| {
                clients.get();
                let there =
                    CLIENTS.with(|c| c.borrow().iter().filter(|(k, _)| *k == clients.key).count());
                assert_eq!(there, 1);
            });
        });
    }
}
