//! What an instance is: one SQLite connection with every database attached, and what it knows
//! of each database beyond its tables. The other files of [`crate::instance`] add its behaviour.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::Connection;

use super::session_state::{SessionInfo, Transactions};
use crate::protocol::tokens::ServerMessage;

/// Recovery models (sys.databases.recovery_model: 1 full, 2 bulk-logged, 3 simple).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    Full = 1,
    BulkLogged = 2,
    Simple = 3,
}

impl Recovery {
    pub fn desc(self) -> &'static str {
        match self {
            Recovery::Full => "FULL",
            Recovery::BulkLogged => "BULK_LOGGED",
            Recovery::Simple => "SIMPLE",
        }
    }
}

/// What the instance knows of a database beyond its tables.
#[derive(Debug, Clone)]
pub struct DatabaseInfo {
    pub name: String,
    pub id: i64,
    pub recovery: Recovery,
    pub file: Option<PathBuf>,
    pub system: bool,
    /// Restored WITH NORECOVERY and waiting for more backups (state RESTORING).
    pub restoring: bool,
    /// The LSN the last restored backup reached, for the log-chain checks.
    pub restored_lsn: i64,
    /// The BackupSetGUID of the full backup it was restored from (a differential's base).
    pub restored_full_guid: Option<String>,
    /// RESTORE HEADERONLY's FamilyGUID: "ID of the original database when created. This value
    /// stays the same when the database is restored."
    pub family_guid: String,
    /// Whether a log backup chain has begun: the first log backup after the database was
    /// created or switched from SIMPLE begins one (HEADERONLY's BeginsLogChain).
    pub log_chain: bool,
}

impl DatabaseInfo {
    /// Whether user statements may run against it.
    pub fn usable(&self) -> Result<(), ServerMessage> {
        if self.restoring {
            // SQL Server error 927 (class 14).
            return Err(ServerMessage::error(
                927,
                14,
                format!(
                    "Database '{}' cannot be opened. It is in the middle of a restore.",
                    self.name
                ),
            ));
        }
        Ok(())
    }
}

/// All databases of one emulated server.
pub struct Instance {
    pub(super) conn: Connection,
    pub(super) dir: PathBuf,
    pub(super) databases: BTreeMap<String, DatabaseInfo>,
    pub(super) next_id: i64,
    pub(super) compatibility_level: u8,
    /// Sessions' open transactions.
    pub(super) transactions: Transactions,
    /// The logged-in sessions.
    pub(super) sessions: BTreeMap<u16, SessionInfo>,
    /// Directories the server's service account may use for backups (the data directory and
    /// what it was granted), canonical.
    pub(super) backup_dirs: Vec<PathBuf>,
    /// How many blocks a block blob may have.
    pub(super) block_limit: u32,
    /// The storage a Managed Instance reserves, in MB (`sys.server_resource_stats`).
    pub(super) reserved_storage_mb: i64,
    /// Database ids and names, for DB_NAME and DB_ID inside queries.
    pub(super) names: super::database_names::Names,
    /// The data directory's lock, held while the instance is open.
    pub(super) _lock: std::fs::File,
}

/// SQLite's `ATTACH` ceiling as this build allows it (see .cargo/config.toml).
pub(super) const ATTACH_LIMIT: i32 = 125;
