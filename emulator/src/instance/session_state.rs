//! What the instance keeps of its sessions in memory: who is logged in, and each session's
//! open transaction. Plain data; [`super::sessions`] and [`super::transactions`] give the
//! instance its behaviour with them.

use std::collections::HashMap;

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub spid: u16,
    pub login: String,
    pub host: String,
    pub program: String,
    pub login_time: String,
    pub database: String,
}

/// The descriptor a transaction began or ended with, for its ENVCHANGE.
pub type Descriptor = u64;

/// What the instance knows of one session's open transaction.
#[derive(Debug, Clone)]
pub(super) struct Open {
    pub(super) descriptor: Descriptor,
    pub(super) trancount: u32,
    /// The name of the outermost BEGIN TRANSACTION, if it had one.
    pub(super) name: Option<String>,
    /// Savepoints, by name, with how many deferred change-log entries preceded each; the
    /// savepoint at index i starts undo level i + 1.
    pub(super) savepoints: Vec<(String, usize)>,
    /// Change-log entries (database, statement) written at commit, so differential and log
    /// backups only ever carry committed work.
    pub(super) pending_log: Vec<(String, String)>,
}

impl Open {
    pub(super) fn level(&self) -> usize {
        self.savepoints.len()
    }
}

/// Every open transaction of the instance, by session, and whose statement runs now.
#[derive(Debug)]
pub(super) struct Transactions {
    pub(super) open: HashMap<u16, Open>,
    /// The session whose statement runs now (None: the server's own work).
    pub(super) current: Option<u16>,
    pub(super) next_descriptor: Descriptor,
}

impl Default for Transactions {
    fn default() -> Self {
        // Descriptors are opaque to clients; any non-zero value will do.
        Transactions {
            open: HashMap::new(),
            current: None,
            next_descriptor: 0x0000_0001_0000_0001,
        }
    }
}
