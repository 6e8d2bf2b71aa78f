//! The running front end: its HTTP listener, and the knobs tests turn on it.

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::ArmOptions;
use super::databases::MAX_DATABASES;
use super::lrs::MAX_CONCURRENT_RESTORES;
use super::routes::handle;
use super::state::Arm;
use super::tls::TlsListener;
use crate::server::Server;

/// A running front end. Dropping it stops it.
pub struct ArmServer {
    /// Where it listens; the same after a restart.
    pub addr: SocketAddr,
    state: Arc<Arm>,
    /// Serialises stop and restart.
    lifecycle: tokio::sync::Mutex<()>,
}

impl Drop for ArmServer {
    fn drop(&mut self) {
        drop(self.state.tasks.lock().take());
        self.state.save();
    }
}

impl ArmServer {
    /// Serves ARM for `mi` on `addr` (port 0 for any free one), with the jobs and operations
    /// `options.data_dir` holds from an earlier run carried on.
    pub async fn start(
        addr: SocketAddr,
        mi: Arc<Server>,
        options: ArmOptions,
    ) -> std::io::Result<ArmServer> {
        if let Some(dir) = &options.data_dir {
            std::fs::create_dir_all(dir)?;
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let state = Arc::new(Arm {
            mi,
            base: format!("{scheme}://{addr}"),
            options,
            throttle: Mutex::new((0, 0)),
            garble: 0.into(),
            hold: Mutex::default(),
            fail: Mutex::new((0, 500)),
            refuse: Mutex::new(None),
            requests: Mutex::default(),
            operations: Mutex::default(),
            next_op: 0.into(),
            jobs: Mutex::default(),
            job_ops: Mutex::default(),
            restore_limit: MAX_CONCURRENT_RESTORES.into(),
            database_limit: MAX_DATABASES.into(),
            identity_grants: Mutex::default(),
            link_ops: Mutex::default(),
            tasks: Mutex::new(None),
            saving: Mutex::new(()),
            last_saved: Mutex::default(),
            dms: Default::default(),
        });
        state
            .load()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        launch(&state, listener)?;
        Ok(ArmServer {
            addr,
            state,
            lifecycle: tokio::sync::Mutex::new(()),
        })
    }

    /// Stops serving, as a front end going down does: the listener closes and jobs pause;
    /// their state is kept (on disk with a data directory).
    pub async fn stop(&self) {
        let _turn = self.lifecycle.lock().await;
        stop(&self.state).await;
    }

    /// Stops the front end if it runs and starts it again on the same address: with a data
    /// directory its state is read back from disk; LRS jobs in flight carry on.
    pub async fn restart(&self) -> std::io::Result<()> {
        let _turn = self.lifecycle.lock().await;
        stop(&self.state).await;
        self.state
            .load()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {} again: {e}", self.addr),
                )
            })?;
        launch(&self.state, listener)?;
        tracing::info!(addr = %self.addr, "ARM front end restarted");
        Ok(())
    }

    /// The next `n` requests get a server error with `status` (500–599) in ARM's error
    /// shape.
    pub fn fail(&self, n: u32, status: u16) {
        *self.state.fail.lock() = (n, status.clamp(500, 599));
    }

    /// The next `n` `method` requests whose path contains `path` are answered `status` in
    /// ARM's error shape with `code`: a test's control, for answers the emulator has no other
    /// way to give (a 400 with a code the service documents as passing, say).
    pub fn refuse(&self, method: &str, path: &str, n: u32, status: u16, code: &str) {
        *self.state.refuse.lock() = Some(super::state::Refusal {
            method: method.to_owned(),
            path: path.to_owned(),
            left: n,
            status,
            code: code.to_owned(),
        });
    }

    pub(super) fn state(&self) -> &Arm {
        &self.state
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

    /// Lowers the instance's limit on user databases (100, as MI's) so a test can reach it.
    pub fn limit_databases(&self, n: usize) {
        self.state
            .database_limit
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Gives the instance's managed identity read access to a container (a "Storage Blob
    /// Data Reader" role assignment); the emulator reads it with `account` and `key`.
    pub fn grant_managed_identity(&self, container_url: &str, account: &str, key: &str) {
        self.state.identity_grants.lock().insert(
            container_url.trim_end_matches('/').to_owned(),
            (account.to_owned(), key.to_owned()),
        );
        self.state.save();
    }

    /// Every request received: (method, path and query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.requests.lock().clone()
    }
}

fn launch(state: &Arc<Arm>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(state.clone());
    let mut tasks = JoinSet::new();
    match &state.options.tls {
        Some(config) => {
            let listener = TlsListener::new(listener, config.clone())?;
            tasks.spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
        }
        None => {
            tasks.spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
        }
    }
    *state.tasks.lock() = Some(tasks);
    state.resume();
    Ok(())
}

async fn stop(state: &Arm) {
    let tasks = state.tasks.lock().take();
    if let Some(mut tasks) = tasks {
        tasks.shutdown().await;
    }
    state.save();
}
