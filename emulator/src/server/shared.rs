//! What every task of a server shares: its options, the open instance, the tasks themselves,
//! and the test controls (faults, clock, statements) that outlive a restart.

use parking_lot::Mutex;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU16;
use std::time::Duration;

use tokio::task::JoinSet;

use super::options::{ServerOptions, StatementRecord};
use crate::control::{Faults, VirtualClock};
use crate::instance::Instance;
use crate::protocol::login_phase::LoginBudget;
use crate::protocol::tls::ServerTls;
use crate::protocol::tokens::ServerMessage;

pub(super) struct Shared {
    pub(super) options: ServerOptions,
    pub(super) tls: Arc<ServerTls>,
    pub(super) next_spid: AtomicU16,
    pub(super) statements: Mutex<Vec<StatementRecord>>,
    /// The open instance; None while the server is stopped.
    pub(super) instance: Mutex<Option<Instance>>,
    pub(super) faults: Faults,
    pub(super) clock: VirtualClock,
    /// Overrides the virtual duration of background restores.
    pub(super) restore_time: Mutex<Option<Duration>>,
    /// Every task of the running server: the listener, each connection, each background
    /// restore. None while the server is stopped, so nothing new starts then.
    pub(super) tasks: Mutex<Option<JoinSet<()>>>,
    /// Bytes buffered for connections that have not logged in yet, across all of them.
    pub(super) login_budget: LoginBudget,
    /// What tests set on the instance, set again when it is opened after a restart.
    pub(super) settings: Mutex<InstanceSettings>,
    /// How many times the server has started: the MI link restarts seeding after a restart.
    pub(super) launches: std::sync::atomic::AtomicU64,
}

/// Settings of the instance that outlive a restart of the server.
#[derive(Debug, Default, Clone)]
pub(super) struct InstanceSettings {
    pub(super) backup_dirs: Vec<std::path::PathBuf>,
    pub(super) block_limit: Option<u32>,
    pub(super) reserved_storage_mb: Option<i64>,
}

impl InstanceSettings {
    pub(super) fn apply(&self, inst: &mut Instance) -> std::io::Result<()> {
        for d in &self.backup_dirs {
            inst.allow_backup_directory(d)?;
        }
        if let Some(n) = self.block_limit {
            inst.set_block_limit(n);
        }
        if let Some(mb) = self.reserved_storage_mb {
            inst.set_reserved_storage_mb(mb);
        }
        Ok(())
    }
}

/// The server is stopped: there is no instance to run anything on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stopped;

impl Stopped {
    pub(super) fn message(self) -> ServerMessage {
        ServerMessage::error(
            50000,
            16,
            "ferry-emulator: this server is stopped; restart it (Server::restart or POST …/restart) first",
        )
    }
}

impl Shared {
    pub(super) fn new(options: ServerOptions, tls: Arc<ServerTls>, instance: Instance) -> Shared {
        Shared {
            options,
            tls,
            // SPIDs 1–50 are system sessions on SQL Server; user sessions start above them.
            next_spid: AtomicU16::new(51),
            statements: Mutex::default(),
            instance: Mutex::new(Some(instance)),
            faults: Faults::default(),
            clock: VirtualClock::default(),
            restore_time: Mutex::new(None),
            tasks: Mutex::new(None),
            login_budget: LoginBudget::default(),
            settings: Mutex::default(),
            launches: Default::default(),
        }
    }

    /// Runs `f` on the instance under its lock.
    pub(super) fn with_instance<T>(
        &self,
        f: impl FnOnce(&mut Instance) -> T,
    ) -> Result<T, Stopped> {
        self.instance.lock().as_mut().map(f).ok_or(Stopped)
    }

    /// Starts `task` as one of the server's tasks; false (and `task` dropped) when the server
    /// is stopped or stopping.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> bool {
        let mut tasks = self.tasks.lock();
        let Some(set) = tasks.as_mut() else {
            return false;
        };
        // Finished tasks stay in a JoinSet until joined; reaping them here keeps a long-lived
        // server's set as small as its live tasks.
        while set.try_join_next().is_some() {}
        set.spawn(task);
        true
    }

    pub(super) fn server_name(&self) -> &str {
        self.options.personality.server_name()
    }
}
