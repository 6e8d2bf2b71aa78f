//! `restoreDetails` as Azure shapes it (`ManagedDatabaseRestoreDetails.json`, api-versions
//! 2023-08-01 and 2024-05-01-preview): the properties a job reports, and what an error answer
//! to the GET means. Every property may be absent (older api-versions lack the backup-set
//! arrays and counts), and `status` is a free string: documented values include `Restoring`
//! and `Blocked` (with `blockReason`). A job's end is not read from `status` but from the
//! database's own `status` becoming `Online` (see `mi::database_status`).

use ferry_sdk::blob_names::same_file;
use serde::Deserialize;

/// The properties of a `restoreDetails` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RestoreDetails {
    pub status: Option<String>,
    pub block_reason: Option<String>,
    pub last_restored_file_name: Option<String>,
    pub current_restoring_file_name: Option<String>,
    pub number_of_files_detected: Option<u64>,
    pub number_of_files_queued: Option<u64>,
    pub log_backup_sets: Option<Vec<BackupSet>>,
    pub unrestorable_files: Vec<UnrestorableFile>,
}

/// One entry of `fullBackupSets`, `diffBackupSets` or `logBackupSets` (2024-05-01-preview).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupSet {
    pub status: Option<String>,
    pub first_stripe_name: Option<String>,
}

/// `unrestorableFiles`: strings up to api-version 2023-08-01, objects with a `name` after.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UnrestorableFile {
    Name(String),
    Object { name: String },
}

impl UnrestorableFile {
    fn name(&self) -> &str {
        match self {
            UnrestorableFile::Name(n) | UnrestorableFile::Object { name: n } => n,
        }
    }
}

impl RestoreDetails {
    /// Reads a `restoreDetails` body's `properties`; fields of an unexpected type are a broken
    /// answer, said as such.
    pub fn from_body(body: &serde_json::Value) -> Result<RestoreDetails, String> {
        serde_json::from_value(body["properties"].clone())
            .map_err(|e| format!("restoreDetails has an unexpected shape: {e}"))
    }

    /// LRS is held up (`status` Blocked), and why.
    pub fn blocked(&self) -> Option<&str> {
        self.status
            .as_deref()
            .filter(|s| s.eq_ignore_ascii_case("Blocked"))
            .map(|_| self.block_reason.as_deref().unwrap_or("no reason given"))
    }

    /// Whether LRS reports `file` as the last one it restored, named bare or with its folder.
    pub fn last_restored_is(&self, file: &str) -> bool {
        self.last_restored_file_name
            .as_deref()
            .is_some_and(|n| same_file(n, file))
    }

    /// Whether LRS lists `file` among the files it cannot restore.
    pub fn unrestorable(&self, file: &str) -> bool {
        self.unrestorable_files
            .iter()
            .any(|f| same_file(f.name(), file))
    }

    /// Log backups LRS has found and not restored yet, from the backup-set array or the count
    /// (2024-05-01-preview and later); None with an api-version that has neither.
    pub fn pending_logs(&self) -> Option<usize> {
        if let Some(sets) = &self.log_backup_sets {
            return Some(
                sets.iter()
                    .filter(|s| matches!(s.status.as_deref(), Some("Queued" | "Restoring")))
                    .count(),
            );
        }
        self.number_of_files_queued.map(|n| n as usize)
    }

    /// One line of progress: the last restored file, the one restoring, what is pending.
    pub fn progress_line(&self) -> String {
        let pending = match self.pending_logs() {
            Some(n) => format!("{n} log backup(s) pending"),
            None => "pending count unknown".into(),
        };
        // `status` is a free string: one other than Restoring is shown as LRS gives it.
        let status = match (self.blocked(), self.status.as_deref()) {
            (Some(why), _) => format!(" — blocked: {why}"),
            (None, Some(s)) if !s.eq_ignore_ascii_case("Restoring") => format!(" — status: {s}"),
            _ => String::new(),
        };
        format!(
            "restored {}, restoring {}, {pending}, {} file(s) in the folder{status}",
            self.last_restored_file_name
                .as_deref()
                .unwrap_or("nothing yet"),
            self.current_restoring_file_name
                .as_deref()
                .unwrap_or("nothing"),
            self.number_of_files_detected.unwrap_or(0)
        )
    }
}

/// What an error answer (400) to the `restoreDetails` GET means: LRS reports a failed job
/// there, with the codes `ManagedDatabaseRestoreDetails.json` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The details are gone: after a finished job, or one stopped or expired.
    NotAvailable,
    /// LRS is retrying by itself; nothing has ended.
    Passing,
    /// The job failed.
    Failed,
}

/// Codes after which LRS carries on by itself: the storage connection it retries
/// ("Retrying automatically…"), a timeout reaching the restore target, a storage server
/// failure, an upgrade of the instance (GP suspends and resumes jobs).
const PASSING: [&str; 4] = [
    "StorageBrokenIssueDetectedWhileInProgress",
    "TimeoutDuringRestore",
    "BlobStorageServerFailure",
    "ExternalBackupUpgradeInProgress",
];

/// Codes the service documents for a job that has failed.
const FAILED: [&str; 36] = [
    "BackupSetNotFound",
    "FullBackupNotFound",
    "RestoreFromStripedBackupsNotEnabled",
    "BrokenRestorePlanNoFullBackup",
    "BrokenRestorePlanWrongLogBackupLSN",
    "BrokenRestorePlanWrongDiffBackupLSN",
    "BrokenRestorePlanGapInLogBackups",
    "BrokenRestorePlanWrongDiffBaseGUID",
    "TargetServerDoesNotExist",
    "TargetServerRestoreNotAllowed",
    "XtpInitializedDuringRestore",
    "FullBackupMissingChecksum",
    "FullBackupDamaged",
    "MissingStripeInBackupSet",
    "BackupsFromMultipleDatabasesDetectedInTheContainerWhileRestoreInProgress",
    "BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart",
    "CorruptedPagesInBackupSet",
    "CorruptedPagesListMaintenance",
    "ManagedIdentityIssueDetectedWhileRestoreInProgress",
    "ManagedIdentityIssueDetectedFromTheStart",
    "PartiallyContainedDatabaseUnsupported",
    "ManagedInstanceStorageLimitHit",
    "IncompatiblePhysicalLayoutTooFewDataFiles",
    "IncompatiblePhysicalLayoutNonOnlineDataFilesExist",
    "IncompatiblePhysicalLayoutWrongNumberOfLogFiles",
    "IncompatiblePhysicalLayoutNonOnlineLogFilesExist",
    "IncompatiblePhysicalLayoutTooManyNonDataLogFiles",
    "IncompatiblePhysicalLayoutTooManyXTPFiles",
    "BlobStorageFailure",
    "StorageBrokenIssueDetectedAtTheStart",
    "StorageBrokenIssueDetectedTerminateRetries",
    "BackupSetBroken",
    "SqlRestoreError",
    "MissingThumbprint",
    "ManagedDatabaseNotInRestoringState",
    "AutoCompleteMissingLastBackupName",
];

/// The meaning of ARM error `code` on the `restoreDetails` GET; None for a code the service
/// does not document there, which is retried rather than taken for the job's end.
pub fn answer(code: &str) -> Option<Answer> {
    if code == "RestoreDetailsNotAvailableOrExpired" {
        Some(Answer::NotAvailable)
    } else if PASSING.contains(&code) {
        Some(Answer::Passing)
    } else if FAILED.contains(&code) {
        Some(Answer::Failed)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn details(properties: serde_json::Value) -> RestoreDetails {
        RestoreDetails::from_body(&json!({ "properties": properties })).unwrap()
    }

    #[test]
    fn unrestorable_files_are_read_in_either_api_versions_shape() {
        assert!(
            details(json!({ "unrestorableFiles": ["Sales_tail.trn"] }))
                .unrestorable("Sales_tail.trn")
        );
        assert!(
            details(json!({ "unrestorableFiles": [{ "name": "Sales/Sales_tail.trn" }] }))
                .unrestorable("Sales_tail.trn")
        );
        assert!(
            !details(json!({ "unrestorableFiles": ["other.trn"] })).unrestorable("Sales_tail.trn")
        );
        assert!(!details(json!({})).unrestorable("Sales_tail.trn"));
        assert!(
            RestoreDetails::from_body(&json!({ "properties": { "unrestorableFiles": 3 } }))
                .is_err()
        );
    }

    #[test]
    fn the_last_restored_file_matches_bare_or_with_its_folder() {
        let bare = details(json!({ "lastRestoredFileName": "Sales_tail.trn" }));
        let prefixed = details(json!({ "lastRestoredFileName": "Sales/Sales_tail.trn" }));
        let encoded = details(json!({ "lastRestoredFileName": "My%20Db/log%201.trn" }));
        assert!(
            bare.last_restored_is("Sales_tail.trn") && prefixed.last_restored_is("Sales_tail.trn")
        );
        assert!(encoded.last_restored_is("log 1.trn"));
        assert!(!bare.last_restored_is("Sales_log_1.trn"));
    }

    #[test]
    fn pending_logs_come_from_the_sets_then_the_counts_else_unknown() {
        let sets = details(json!({ "logBackupSets": [
            { "status": "Restored" }, { "status": "Restoring" }, { "status": "Queued" }
        ], "numberOfFilesQueued": 9 }));
        assert_eq!(sets.pending_logs(), Some(2));
        assert_eq!(
            details(json!({ "numberOfFilesQueued": 4 })).pending_logs(),
            Some(4)
        );
        assert_eq!(
            details(json!({ "numberOfFilesDetected": 4 })).pending_logs(),
            None
        );
        let line = details(json!({
            "lastRestoredFileName": "a.trn", "numberOfFilesDetected": 3, "logBackupSets": [],
            "status": "Blocked", "blockReason": "waiting for the next log backup"
        }))
        .progress_line();
        assert_eq!(
            line,
            "restored a.trn, restoring nothing, 0 log backup(s) pending, 3 file(s) in the folder — blocked: waiting for the next log backup"
        );
        let other = details(json!({ "status": "SomethingNew" })).progress_line();
        assert!(other.ends_with(" — status: SomethingNew"), "{other}");
    }

    #[test]
    fn error_answers_are_read_as_the_service_documents_them() {
        assert_eq!(
            answer("RestoreDetailsNotAvailableOrExpired"),
            Some(Answer::NotAvailable)
        );
        assert_eq!(
            answer("StorageBrokenIssueDetectedWhileInProgress"),
            Some(Answer::Passing)
        );
        assert_eq!(
            answer("BrokenRestorePlanGapInLogBackups"),
            Some(Answer::Failed)
        );
        assert_eq!(answer("SomethingNew"), None);
    }
}
