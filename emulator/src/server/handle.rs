//! A running server as its owner holds it: start, stop and restart on the same port and data
//! directory, and what tests and the control API do to it in process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::handshake::serve;
use super::operations::run_operation;
use super::options::{ServerOptions, StatementRecord};
use super::shared::Shared;
use crate::instance::Instance;
use crate::personality::Personality;
use crate::protocol::ProtocolError;
use crate::protocol::tls::ServerTls;
use crate::protocol::tokens::ServerMessage;
use crate::sql::{Outcome, SessionView, execute_batch};

/// A server. Dropping it stops it.
pub struct Server {
    /// Where it listens; the same after a restart.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Serialises stop and restart.
    lifecycle: tokio::sync::Mutex<()>,
}

impl Server {
    /// Opens the instance in `options.data_dir` (creating it the first time), binds `addr`
    /// (port 0 for any free port) and starts serving.
    pub async fn start(
        addr: SocketAddr,
        options: ServerOptions,
        tls: Arc<ServerTls>,
    ) -> std::io::Result<Server> {
        let instance = open_instance(&options)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(options, tls, instance));
        launch(&shared, listener);
        Ok(Server {
            addr,
            shared,
            lifecycle: tokio::sync::Mutex::new(()),
        })
    }

    /// Stops serving, as a server going down does: the listener closes, every connection is
    /// cut without a reply, background restores pause, and the instance is closed (its state
    /// is on disk). Faults, the clock and the statements received stay, for the test.
    pub async fn stop(&self) {
        let _turn = self.lifecycle.lock().await;
        stop(&self.shared).await;
    }

    /// Stops the server if it runs, then starts it again on the same address and data
    /// directory: it comes back with its logins, credentials, databases and history, and the
    /// restores that were running carry on.
    pub async fn restart(&self) -> std::io::Result<()> {
        let _turn = self.lifecycle.lock().await;
        stop(&self.shared).await;
        let mut instance = open_instance(&self.shared.options)?;
        self.shared.settings.lock().apply(&mut instance)?;
        let listener = TcpListener::bind(self.addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {} again: {e}", self.addr),
            )
        })?;
        *self.shared.instance.lock() = Some(instance);
        launch(&self.shared, listener);
        tracing::info!(addr = %self.addr, "server restarted");
        Ok(())
    }

    /// How many times it has started (1 after `start`, one more per restart).
    pub fn launches(&self) -> u64 {
        self.shared.launches.load(Ordering::Relaxed)
    }

    /// Whether it is serving (not stopped).
    pub fn is_running(&self) -> bool {
        self.shared.tasks.lock().is_some()
    }

    /// The CA certificate (PEM) clients should trust.
    pub fn ca_pem(&self) -> &str {
        &self.shared.tls.ca_pem
    }

    /// Every statement received so far.
    pub fn statements(&self) -> Vec<StatementRecord> {
        self.shared.statements.lock().clone()
    }

    /// Injects a fault for statements (or, as a [`crate::control::FaultRule`] at login,
    /// logins) matching its pattern.
    pub fn inject(&self, fault: impl Into<crate::control::FaultRule>) {
        self.shared.faults.add(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// A credential's identity and secret, to check what a client stored (tests and rehearsals;
    /// no catalog view shows the secret). None also while the server is stopped.
    pub fn credential(&self, name: &str) -> Option<(String, Option<String>)> {
        self.shared
            .with_instance(|i| i.credential(name))
            .ok()
            .flatten()
    }

    /// Gives the server's service account rights on `dir`, as on a share: BACKUP TO DISK and
    /// RESTORE FROM DISK may use it (besides the data directory). Kept across restarts.
    pub fn allow_backup_directory(&self, dir: &std::path::Path) -> std::io::Result<()> {
        self.shared.settings.lock().backup_dirs.push(dir.to_owned());
        match self.shared.with_instance(|i| i.allow_backup_directory(dir)) {
            Ok(r) => r,
            Err(_) => Ok(()),
        }
    }

    /// Scales Azure's 50,000-block limit of a block blob down to `blocks`, so a test can make
    /// a BACKUP TO URL run out of blocks without writing gigabytes. Kept across restarts.
    pub fn set_blob_block_limit(&self, blocks: u32) {
        self.shared.settings.lock().block_limit = Some(blocks);
        let _ = self.shared.with_instance(|i| i.set_block_limit(blocks));
    }

    /// The storage the emulated MI reserves, in MB (32 GB unless set), as
    /// `sys.server_resource_stats` reports it: a test makes an instance that is nearly full
    /// without writing gigabytes. Kept across restarts.
    pub fn set_reserved_storage_mb(&self, mb: i64) {
        self.shared.settings.lock().reserved_storage_mb = Some(mb);
        let _ = self.shared.with_instance(|i| i.set_reserved_storage_mb(mb));
    }

    /// Replaces the emulated Microsoft Entra directory that `FROM EXTERNAL PROVIDER` names
    /// resolve in (instance/entra.rs): user principal names and group display names. Kept in
    /// the catalog, so across restarts. Error 50000 while the server is stopped.
    pub fn set_entra_directory(
        &self,
        users: &[String],
        groups: &[String],
    ) -> Result<(), ServerMessage> {
        self.shared
            .with_instance(|i| i.set_entra_directory(users, groups))
            .map_err(|_| ServerMessage::error(50000, 16, "the server is stopped"))?
    }

    /// Names the Windows groups (`DOMAIN\name`) a SQL Server personality records as type G
    /// when a login is made for them (instance/windows_groups.rs). Error 50000 while the
    /// server is stopped.
    pub fn set_windows_groups(&self, groups: &[String]) -> Result<(), ServerMessage> {
        self.shared
            .with_instance(|i| i.set_windows_groups(groups))
            .map_err(|_| ServerMessage::error(50000, 16, "the server is stopped"))?
    }

    /// The emulated Entra directory: (users, groups).
    pub fn entra_directory(&self) -> Result<(Vec<String>, Vec<String>), ServerMessage> {
        self.shared
            .with_instance(|i| i.entra_directory())
            .map_err(|_| ServerMessage::error(50000, 16, "the server is stopped"))?
    }

    /// Sets how long (in virtual time) a background restore takes; None restores the default.
    pub fn set_restore_time(&self, t: Option<Duration>) {
        *self.shared.restore_time.lock() = t;
    }

    /// Bytes buffered now for connections that have not logged in, across all of them.
    pub fn login_buffered_bytes(&self) -> usize {
        self.shared.login_budget.used()
    }

    /// The most bytes ever buffered at once for connections not logged in.
    pub fn login_buffered_peak(&self) -> usize {
        self.shared.login_budget.peak()
    }

    /// Caps the bytes buffered across connections not logged in (a connection that would pass
    /// it is closed, with a log line).
    pub fn set_login_buffer_cap(&self, bytes: usize) {
        self.shared.login_budget.set_cap(bytes);
    }

    /// Runs `f` on the instance once the server runs: at once, or when it has been started
    /// again (an LRS job waits out a restart of its instance this way).
    pub(crate) async fn with_instance_when_running<T>(
        &self,
        f: impl FnOnce(&mut Instance) -> T,
    ) -> T {
        loop {
            if let Some(inst) = self.shared.instance.lock().as_mut() {
                return f(inst);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The virtual clock long operations follow.
    pub fn clock(&self) -> &crate::control::VirtualClock {
        &self.shared.clock
    }

    /// Runs a batch as the server itself (to seed databases and rows); errors come back with
    /// their SQL Server numbers.
    pub fn run_sql(&self, sql: &str) -> Result<Vec<Outcome>, ServerMessage> {
        let vars = crate::sql::Variables::default();
        let view = SessionView {
            personality: &self.shared.options.personality,
            database: "master",
            spid: 1,
            user: "sa",
            vars: &vars,
            options: Default::default(),
        };
        let outcomes = self
            .shared
            .with_instance(|inst| execute_batch(sql, &view, inst))
            .map_err(|stopped| stopped.message())?;
        // What the batch started in the background (an MI restore) runs to its end.
        for o in &outcomes {
            if let Outcome::Operation(op) = o {
                let (shared, op) = (self.shared.clone(), op.clone());
                self.shared.spawn(async move {
                    let _ = run_operation(&shared, op, None).await;
                });
            }
        }
        match outcomes.iter().find_map(|o| {
            if let Outcome::Error(e) = o {
                Some(e.clone())
            } else {
                None
            }
        }) {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }

    /// Runs `f` on the instance under its lock; error 50000 while the server is stopped.
    pub(crate) fn with_running_instance<T>(
        &self,
        f: impl FnOnce(&mut Instance) -> T,
    ) -> Result<T, ServerMessage> {
        self.shared.with_instance(f).map_err(|s| s.message())
    }

    /// [`Server::with_running_instance`] waiting at most `wait` for the lock; None when the
    /// server is stopped or busy that long.
    pub(crate) fn try_with_running_instance<T>(
        &self,
        wait: Duration,
        f: impl FnOnce(&mut Instance) -> T,
    ) -> Option<T> {
        self.shared.instance.try_lock_for(wait)?.as_mut().map(f)
    }

    pub fn personality(&self) -> &Personality {
        &self.shared.options.personality
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the set aborts every task; closing the instance releases its data directory
        // for a server started on it next.
        drop(self.shared.tasks.lock().take());
        drop(self.shared.instance.lock().take());
    }
}

/// The instance in the options' data directory, with the configured logins in place.
fn open_instance(options: &ServerOptions) -> std::io::Result<Instance> {
    let mi = options.personality.is_managed_instance();
    let mut instance = Instance::open(&options.data_dir, options.personality.compatibility_level())
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    instance.prepare_principals(mi).map_err(|e| {
        std::io::Error::other(format!("cannot set up the server principals: {}", e.text))
    })?;
    instance
        .prepare_msdb()
        .map_err(|e| std::io::Error::other(format!("cannot bring msdb up to date: {}", e.text)))?;
    instance
        .ensure_system_certificates(mi)
        .map_err(|e| std::io::Error::other(e.text))?;
    for (name, password) in &options.logins {
        instance.ensure_login(name, password, mi).map_err(|e| {
            std::io::Error::other(format!("cannot set up login {name}: {}", e.text))
        })?;
    }
    instance
        .prepare_system_objects(&options.personality)
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    Ok(instance)
}

/// Starts the listener's task and the background operations the catalog says were running.
fn launch(shared: &Arc<Shared>, listener: TcpListener) {
    shared.launches.fetch_add(1, Ordering::Relaxed);
    let mut tasks = JoinSet::new();
    tasks.spawn(accept(shared.clone(), listener));
    *shared.tasks.lock() = Some(tasks);
    let in_flight = shared
        .with_instance(|i| i.operations_in_flight())
        .unwrap_or_default();
    for (op, progress) in in_flight {
        tracing::info!(operation = %op.id, database = %op.database, "resuming a background restore");
        let s = shared.clone();
        shared.spawn(async move {
            let _ = run_operation(&s, op, progress).await;
        });
    }
}

async fn stop(shared: &Shared) {
    let tasks = shared.tasks.lock().take();
    if let Some(mut tasks) = tasks {
        tasks.shutdown().await;
    }
    // Every task has finished, so only a caller outside them (run_sql, the ARM front end)
    // can hold the lock now, briefly.
    let instance = shared.instance.lock().take();
    drop(instance);
}

async fn accept(s: Arc<Shared>, listener: TcpListener) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let spid = s.next_spid.fetch_add(1, Ordering::Relaxed);
        let shared = s.clone();
        s.spawn(async move {
            match serve(tcp, shared, spid).await {
                Ok(()) | Err(ProtocolError::Closed) => {
                    tracing::debug!(%peer, spid, "session ended")
                }
                Err(e) => tracing::info!(%peer, spid, "closing connection: {e}"),
            }
        });
    }
}
