//! What the emulated Database Migration Service keeps: its `sqlMigrationServices` (with the
//! self-hosted integration runtime nodes registered to each), the storage accounts it can
//! reach, the database migrations and the operations handed out. Held in memory only: a
//! restart of the front end forgets it (the LRS jobs behind migrations are the front end's
//! own and are kept).

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value as J;

use crate::backup::BackupHeader;
use crate::lrs::job::Job;

#[derive(Default)]
pub(crate) struct Dms {
    /// By lower-case name.
    pub(super) services: Mutex<BTreeMap<String, Service>>,
    /// By lower-case target database name.
    pub(super) migrations: Mutex<BTreeMap<String, Arc<Migration>>>,
    /// Storage accounts by lower-case name.
    pub(super) accounts: Mutex<HashMap<String, StorageAccount>>,
    /// UNC prefix (lower case, no trailing `\`) → local folder, as the runtime's host sees it.
    pub(super) shares: Mutex<Vec<(String, PathBuf)>>,
    /// Operation id → what it reports on.
    pub(super) operations: Mutex<HashMap<String, DmsOp>>,
    /// The SQL Servers the runtime can reach, by the lower-case names a `dataSource` may
    /// give; empty when none were made known (then backups are not checked against one).
    pub(super) sources: Mutex<Vec<(String, Arc<crate::server::Server>)>>,
    /// How long (real time) the runtime takes over each upload: a test's way to find a file
    /// `Uploading`.
    pub(super) upload_time: Mutex<std::time::Duration>,
}

pub(super) struct Service {
    pub(super) name: String,
    pub(super) location: String,
    pub(super) tags: J,
    /// When the PUT came; the service is `Succeeded` once the front end's operation time has
    /// passed since.
    pub(super) created: std::time::Instant,
    pub(super) keys: [String; 2],
    pub(super) nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) name: String,
    pub(super) online: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct StorageAccount {
    /// The blob endpoint, e.g. `http://127.0.0.1:10000/devstoreaccount1`.
    pub endpoint: String,
    pub location: String,
    /// `StorageV2`, `BlockBlobStorage`, …
    pub kind: String,
    /// `Standard` or `Premium`.
    pub tier: String,
    /// The resource group its ARM id names (`GET …/storageAccounts/{name}` answers there only).
    pub resource_group: String,
    /// When it was made known: its `creationTime`.
    pub created: SystemTime,
}

#[derive(Debug, Clone)]
pub(super) enum DmsOp {
    /// Creating the service (lower-case name).
    CreateService(String),
    /// The PUT of a migration (by database, and its operation id).
    StartMigration(String, String),
    Cutover(String, String),
    Cancel(String, String),
}

/// Where a migration's backups come from.
#[derive(Debug, Clone)]
pub(super) enum Source {
    Blob {
        endpoint: String,
        account: String,
        key: String,
        container: String,
    },
    /// A share read by the self-hosted integration runtime and uploaded into `container` of
    /// the target storage account.
    Share {
        path: String,
        local: PathBuf,
        endpoint: String,
        account: String,
        key: String,
        container: String,
    },
}

impl Source {
    pub(super) fn container(&self) -> &str {
        match self {
            Source::Blob { container, .. } | Source::Share { container, .. } => container,
        }
    }

    /// The account, key and endpoint the LRS job reads from.
    pub(super) fn storage(&self) -> (&str, &str, &str) {
        match self {
            Source::Blob {
                endpoint,
                account,
                key,
                ..
            }
            | Source::Share {
                endpoint,
                account,
                key,
                ..
            } => (endpoint, account, key),
        }
    }
}

/// One backup file a migration has seen.
#[derive(Debug, Clone)]
pub(super) struct FileSeen {
    pub(super) name: String,
    pub(super) size: u64,
    /// None when it is not a backup.
    pub(super) header: Option<BackupHeader>,
    /// `Arrived`, `Queued`, `Uploading`, `Uploaded` (share source, before the restore).
    pub(super) status: &'static str,
}

pub(super) struct Migration {
    pub(super) db: String,
    pub(super) operation_id: String,
    pub(super) service_id: String,
    pub(super) service_name: String,
    /// The PUT's properties, secrets removed.
    pub(super) request: J,
    pub(super) source_db: String,
    pub(super) source: Source,
    pub(super) offline: bool,
    pub(super) last_backup: Option<String>,
    pub(super) started_on: SystemTime,
    pub(super) run: Mutex<Run>,
}

/// Where a migration stands.
#[derive(Default)]
pub(super) struct Run {
    pub(super) provisioning: &'static str,
    pub(super) provisioning_error: Option<String>,
    pub(super) status: &'static str,
    pub(super) error: Option<(String, String)>,
    pub(super) ended_on: Option<SystemTime>,
    pub(super) job: Option<Arc<Job>>,
    pub(super) files: Vec<FileSeen>,
    pub(super) invalid: Vec<String>,
    pub(super) upload_errors: Vec<String>,
    pub(super) cutover: bool,
    pub(super) cancelled: bool,
    /// `migrationStatusDetails` held as they were (`dms_monitor_lag`), or None: live.
    pub(super) frozen_details: Option<serde_json::Value>,
}

impl Run {
    /// Whether `name` has been seen (as a backup or as a file that is not one).
    pub(super) fn seen(&self, name: &str) -> bool {
        self.files.iter().any(|f| f.name == name) || self.invalid.iter().any(|f| f == name)
    }

    pub(super) fn ended(&self) -> bool {
        matches!(self.status, "Succeeded" | "Failed" | "Canceled")
    }
}

/// A fresh GUID-shaped id. `RandomState` is seeded randomly per process, so ids do not
/// repeat across runs without a random-number crate.
pub(super) fn new_guid() -> String {
    use std::hash::BuildHasher;
    let h =
        |n: u128| std::collections::hash_map::RandomState::new().hash_one((n, SystemTime::now()));
    let (a, b) = (h(1), h(2));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// An authentication key. Guess: the shape follows the keys Azure Data Factory shows for a
/// self-hosted runtime (`IR@{guid}@{factory}@{region}@{secret}`); a client must treat it as
/// opaque.
pub(super) fn new_auth_key(service: &str, location: &str) -> String {
    format!(
        "IR@{}@{service}@{location}@{}",
        new_guid(),
        new_guid().replace('-', "")
    )
}
