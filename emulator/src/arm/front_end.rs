//! The running front end: its HTTP listener, and the knobs tests turn on it.

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;

use super::ArmOptions;
use super::lrs::MAX_CONCURRENT_RESTORES;
use super::routes::handle;
use super::state::Arm;
use crate::server::Server;

/// A running front end.
pub struct ArmServer {
    pub addr: SocketAddr,
    state: Arc<Arm>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ArmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ArmServer {
    /// Serves ARM for `mi` on `addr` (port 0 for any free one).
    pub async fn start(
        addr: SocketAddr,
        mi: Arc<Server>,
        options: ArmOptions,
    ) -> std::io::Result<ArmServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Arm {
            mi,
            base: format!("http://{addr}"),
            options,
            throttle: Mutex::new((0, 0)),
            garble: 0.into(),
            hold: Mutex::default(),
            requests: Mutex::default(),
            operations: Mutex::default(),
            next_op: 0.into(),
            jobs: Mutex::default(),
            job_ops: Mutex::default(),
            restore_limit: MAX_CONCURRENT_RESTORES.into(),
            identity_grants: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ArmServer { addr, state, task })
    }

    /// The endpoint a client's azure label names.
    pub fn endpoint(&self) -> String {
        self.state.base.clone()
    }

    /// The next `n` requests get 429 with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, n: u32, retry_after_secs: u64) {
        *self.state.throttle.lock() = (n, retry_after_secs);
    }

    /// The next `n` requests get 200 with an HTML body instead of ARM's JSON.
    pub fn garble(&self, n: u32) {
        self.state
            .garble
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The next `method` request whose path contains `path` is carried out, then its reply is
    /// held for `hold` (real time): the change is made while the client still waits, as when
    /// a client dies between ARM accepting a request and the answer reaching it.
    pub fn hold_reply(&self, method: &str, path: &str, hold: std::time::Duration) {
        *self.state.hold.lock() = Some((method.to_owned(), path.to_owned(), hold));
    }

    /// Lowers the concurrent-restore limit (100, as MI's) so a test can reach it without
    /// starting a hundred jobs.
    pub fn limit_restores(&self, n: usize) {
        self.state
            .restore_limit
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Gives the instance's managed identity read access to a container (a "Storage Blob
    /// Data Reader" role assignment); the emulator reads it with `account` and `key`.
    pub fn grant_managed_identity(&self, container_url: &str, account: &str, key: &str) {
        self.state.identity_grants.lock().insert(
            container_url.trim_end_matches('/').to_owned(),
            (account.to_owned(), key.to_owned()),
        );
    }

    /// Every request received: (method, path and query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.requests.lock().clone()
    }
}
