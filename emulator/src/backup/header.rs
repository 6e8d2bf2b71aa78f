//! What a backup set says about itself.

use serde::{Deserialize, Serialize};

/// Full, differential or log (HEADERONLY BackupType 1, 5, 2; msdb type D, I, L).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupType {
    Full,
    Differential,
    Log,
}

impl BackupType {
    pub fn header_code(self) -> i64 {
        match self {
            BackupType::Full => 1,
            BackupType::Log => 2,
            BackupType::Differential => 5,
        }
    }

    pub fn msdb_code(self) -> &'static str {
        match self {
            BackupType::Full => "D",
            BackupType::Differential => "I",
            BackupType::Log => "L",
        }
    }

    /// HEADERONLY's BackupTypeDescription, as "RESTORE HEADERONLY (Transact-SQL)" lists it.
    pub fn description(self) -> &'static str {
        match self {
            BackupType::Full => "DATABASE",
            BackupType::Differential => "DATABASE DIFFERENTIAL",
            BackupType::Log => "TRANSACTION LOG",
        }
    }
}

/// What every method's restore rules read: the set's identity, LSNs and options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupHeader {
    pub database: String,
    pub backup_type: BackupType,
    pub first_lsn: i64,
    pub last_lsn: i64,
    pub checkpoint_lsn: i64,
    pub database_backup_lsn: i64,
    /// For a differential: the BackupSetGUID of the full it is based on.
    pub differential_base_guid: Option<String>,
    pub backup_set_guid: String,
    pub family_guid: String,
    pub copy_only: bool,
    pub checksum: bool,
    pub compressed: bool,
    pub stripe_index: u32,
    pub stripe_count: u32,
    /// The TDE certificate thumbprint when the database is encrypted.
    pub tde_thumbprint: Option<String>,
    pub server_name: String,
    pub recovery_model: String,
    pub compatibility_level: u8,
    pub software_version: String,
    pub backup_start: String,
    pub backup_finish: String,
    /// Size of the whole payload (all stripes), before compression.
    pub backup_size: u64,
}

/// One file of the backed-up database, for RESTORE FILELISTONLY and MI's restore checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFile {
    pub logical_name: String,
    pub physical_name: String,
    /// FILELISTONLY's Type: D data, L log, S FILESTREAM or memory-optimized container.
    pub kind: String,
    pub file_id: i64,
    /// The filegroup (None for the log) with its id and sys.filegroups type (FG, FD, FX).
    pub filegroup: Option<String>,
    pub filegroup_id: i64,
    pub filegroup_type: Option<String>,
    /// Bytes.
    pub size: u64,
    pub max_size: i64,
    pub unique_id: String,
}

/// What else a backup set records: HEADERONLY's remaining columns and the database's layout.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupDetails {
    pub begins_log_chain: bool,
    /// Taken WITH NORECOVERY: the tail-log backup that left the database RESTORING.
    pub force_offline: bool,
    pub user_name: String,
    pub database_creation_date: String,
    pub collation: String,
    /// Bytes of the payload as stored (after compression), all stripes.
    pub compressed_size: u64,
    pub files: Vec<BackupFile>,
    /// The filegroup of the persistent version store, when ADR is on.
    pub version_store_filegroup: Option<String>,
    pub memory_optimized_tables: i64,
    pub block_size: u32,
    pub max_transfer_size: u32,
    pub media_set_guid: String,
    pub recovery_fork_guid: String,
    pub binding_guid: String,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// One change-log entry, as differential and log backups carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub lsn: i64,
    pub sql: String,
}
