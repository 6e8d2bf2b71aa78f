//! Where a Log Replay Service job stands: what it found in its folder, what became of each
//! backup set, and how it ended. The ARM front end shapes this into `restoreDetails` for the
//! api-version a client asks for (`arm::restore_details`); nothing here is a wire format.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::backup::BackupType;

/// A job's phase. Only `Starting` and `Failed { at_start }` are told apart on the wire (the
/// start operation); `restoreDetails.status` is a free string derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Phase {
    /// Accepted; storage access not proven yet (the start operation is still running).
    #[default]
    Starting,
    Restoring,
    /// Recovered: the database is online and the job's details have expired.
    Completed,
    Failed,
}

/// Why a job stopped: an LRS error code and its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
    /// It stopped the job from starting (storage access): the start operation fails with it
    /// and no database is left behind. Otherwise the job failed while restoring and
    /// `restoreDetails` answers with it.
    pub at_start: bool,
    /// No public error code exists for this refusal; the code is ferry-emulator's own.
    pub guessed: bool,
}

/// What became of one backup set, as the newer `restoreDetails` arrays show it (the
/// 2025-01-01 example lists `Skipped`, `Restored`, `Restoring` and `Queued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetState {
    Skipped,
    Queued,
    Restoring,
    Restored,
}

impl SetState {
    pub fn as_str(self) -> &'static str {
        match self {
            SetState::Skipped => "Skipped",
            SetState::Queued => "Queued",
            SetState::Restoring => "Restoring",
            SetState::Restored => "Restored",
        }
    }
}

/// One backup set found in the folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetStatus {
    pub kind: BackupType,
    pub first_stripe: String,
    /// Every file of the set, in stripe order.
    pub files: Vec<String>,
    pub size_bytes: u64,
    pub state: SetState,
    pub started: Option<SystemTime>,
    pub finished: Option<SystemTime>,
}

/// A file the job has seen in its folder, and when it first saw it (the emulator's stand-in
/// for the blob's upload time; Azurite's own timestamps are not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectedFile {
    pub name: String,
    pub seen: SystemTime,
}

/// Where a job is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Details {
    pub phase: Phase,
    /// The first stripe of the set being restored, and its kind.
    pub current: Option<(String, BackupType)>,
    /// The first stripe of the newest set restored: the service reports a striped set by its
    /// first stripe (`lastRestoredFileName` equals that set's `firstStripeName` in the
    /// 2025-01-01 `ManagedDatabaseRestoreDetails.json` example).
    pub last_restored: Option<String>,
    pub last_restored_time: Option<SystemTime>,
    pub detected: Vec<DetectedFile>,
    /// Files that are not backups, or that sit where LRS does not read them.
    pub unrestorable: Vec<String>,
    /// Every set found: the restore plan and the sets it skips, oldest first per kind.
    pub sets: Vec<SetStatus>,
    pub error: Option<JobError>,
    /// The file name `completeRestore` asked to finish after.
    pub complete_after: Option<String>,
}

impl Details {
    /// The file seen most recently (the newest upload, as far as the job can tell).
    pub fn last_detected(&self) -> Option<&DetectedFile> {
        self.detected
            .iter()
            .max_by(|a, b| (a.seen, a.name.as_str()).cmp(&(b.seen, b.name.as_str())))
    }

    /// How many files of sets in `state` (a striped set counts each stripe, as the 2025-01-01
    /// example's counts do).
    pub fn files_in(&self, state: SetState) -> usize {
        self.sets
            .iter()
            .filter(|s| s.state == state)
            .map(|s| s.files.len())
            .sum()
    }

    /// Whether the set holding `file` (any stripe) has been restored.
    pub fn restored(&self, file: &str) -> bool {
        self.sets
            .iter()
            .any(|s| s.state == SetState::Restored && s.files.iter().any(|f| f == file))
    }
}

/// The file part of a blob name.
pub fn file_name(blob: &str) -> &str {
    blob.rsplit('/').next().unwrap_or(blob)
}
