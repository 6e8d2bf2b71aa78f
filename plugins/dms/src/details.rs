//! `migrationStatusDetails` (sqlmigration.json `MigrationStatusDetails`, `SqlBackupSetInfo`,
//! `SqlBackupFileInfo`; methods.md §3.4): the backup sets DMS works on, their files' statuses,
//! and what blocks it. Cutover is allowed once every file of the active sets is Restored and no
//! log backup is pending (methods.md §3.5, "Perform migration cutover", learn.microsoft.com).

use serde_json::Value;

/// One file of an active backup set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileView {
    pub name: String,
    pub status: String,
    pub backup_type: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// Whether the service included the details at all.
    pub present: bool,
    pub migration_state: String,
    pub full_restored: bool,
    pub current_restoring: Option<String>,
    pub last_restored: Option<String>,
    pub pending_logs: Option<i64>,
    pub blocking: Option<String>,
    pub upload_errors: Vec<String>,
    /// `invalidFiles[]`: files DMS will not use.
    pub invalid_files: Vec<String>,
    pub files: Vec<FileView>,
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Details {
    pub fn from_value(d: &Value) -> Details {
        if !d.is_object() {
            return Details::default();
        }
        let mut files = Vec::new();
        // The full set is listed apart; it is part of what must be restored, and first.
        let mut sets: Vec<&Value> = Vec::new();
        if d["fullBackupSetInfo"].is_object() {
            sets.push(&d["fullBackupSetInfo"]);
        }
        sets.extend(d["activeBackupSets"].as_array().into_iter().flatten());
        for set in sets {
            let kind = text(&set["backupType"]).unwrap_or_default();
            for f in set["listOfBackupFiles"].as_array().into_iter().flatten() {
                let Some(name) = text(&f["fileName"]).or_else(|| text(&f["fileLocation"])) else {
                    continue;
                };
                if files.iter().any(|x: &FileView| x.name == name) {
                    continue;
                }
                files.push(FileView {
                    name,
                    status: text(&f["status"]).unwrap_or_default(),
                    backup_type: kind.clone(),
                });
            }
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| text(x).or_else(|| x.is_object().then(|| x.to_string())))
                .collect()
        };
        Details {
            present: true,
            migration_state: text(&d["migrationState"]).unwrap_or_default(),
            full_restored: d["isFullBackupRestored"].as_bool().unwrap_or(false),
            current_restoring: text(&d["currentRestoringFilename"]),
            last_restored: text(&d["lastRestoredFilename"]),
            pending_logs: d["pendingLogBackupsCount"].as_i64(),
            blocking: text(&d["restoreBlockingReason"])
                .or_else(|| text(&d["completeRestoreErrorMessage"])),
            upload_errors: strings(&d["fileUploadBlockingErrors"]),
            invalid_files: strings(&d["invalidFiles"]),
            files,
        }
    }

    /// Every file DMS uses is Restored (Ignored and Skipped ones are not in the chain) and no
    /// log backup waits.
    pub fn ready_for_cutover(&self) -> bool {
        let used: Vec<&FileView> = self
            .files
            .iter()
            .filter(|f| !matches!(f.status.as_str(), "Ignored" | "Skipped"))
            .collect();
        self.present
            && self.pending_logs == Some(0)
            && !used.is_empty()
            && used.iter().all(|f| f.status == "Restored")
    }

    /// Whether `name` (a file name, or a path ending in it) was restored.
    pub fn restored(&self, name: &str) -> bool {
        let ends = |f: &str| {
            f == name || f.ends_with(&format!("\\{name}")) || f.ends_with(&format!("/{name}"))
        };
        self.files
            .iter()
            .any(|f| ends(&f.name) && f.status == "Restored")
            || self.last_restored.as_deref().is_some_and(ends)
    }

    /// The fraction of used files restored.
    pub fn fraction(&self) -> Option<f32> {
        let used = self
            .files
            .iter()
            .filter(|f| !matches!(f.status.as_str(), "Ignored" | "Skipped"))
            .count();
        let done = self.files.iter().filter(|f| f.status == "Restored").count();
        (used > 0).then(|| done as f32 / used as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn details(statuses: &[&str], pending: i64) -> Details {
        let files: Vec<Value> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"fileName": format!("f{i}.trn"), "status": s}))
            .collect();
        Details::from_value(&json!({
            "migrationState": "WaitForLogBackups", "pendingLogBackupsCount": pending,
            "fullBackupSetInfo": {"backupType": "Database", "listOfBackupFiles": [
                {"fileName": "full.bak", "status": "Restored"}]},
            "activeBackupSets": [{"backupType": "TransactionLog", "listOfBackupFiles": files}],
            "lastRestoredFilename": "f0.trn"}))
    }

    #[test]
    fn ready_only_when_every_used_file_is_restored_and_nothing_pends() {
        assert!(details(&["Restored", "Restored"], 0).ready_for_cutover());
        assert!(details(&["Restored", "Ignored"], 0).ready_for_cutover());
        assert!(!details(&["Restored", "Uploading"], 0).ready_for_cutover());
        assert!(!details(&["Restored"], 1).ready_for_cutover());
        assert!(!Details::default().ready_for_cutover());
        let d = details(&["Restored", "Restoring"], 0);
        assert_eq!(d.files.len(), 3);
        assert_eq!(d.fraction(), Some(2.0 / 3.0));
        assert!(d.restored("f0.trn") && !d.restored("f1.trn"));
    }
}
