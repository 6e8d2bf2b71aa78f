//! A database migration as the spec's `DatabaseMigrationSqlMi` shows it, with
//! `migrationStatusDetails` (`MigrationStatusDetails`, `SqlBackupSetInfo`,
//! `SqlBackupFileInfo`) when `$expand=MigrationStatusDetails` asks. Secrets given in the PUT
//! (passwords, account keys) are never echoed back.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Map, Value as J, json};
use time::format_description::well_known::Rfc3339;

use super::dms_state::{FileSeen, Migration, Run};
use super::state::Arm;
use crate::backup::{BackupHeader, BackupType};
use crate::lrs::details::{Details, SetState};

fn rfc3339(t: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(t).format(&Rfc3339).ok()
}

/// A backup header's time (`YYYY-MM-DD HH:MM:SS.fffffff`) as the spec's `date-time`.
fn header_time(t: &str) -> J {
    if t.len() < 19 {
        return J::Null;
    }
    json!(format!("{}Z", t.replacen(' ', "T", 1)))
}

/// The spec's `BackupType` enum for a header's type.
fn backup_type(t: BackupType) -> &'static str {
    match t {
        BackupType::Full => "Database",
        BackupType::Differential => "DifferentialDatabase",
        BackupType::Log => "TransactionLog",
    }
}

pub(super) fn migration_id(arm: &Arm, db: &str) -> String {
    format!(
        "{}/providers/Microsoft.DataMigration/databaseMigrations/{db}",
        arm.instance_path()
    )
}

/// Removes `password` and `accountKey` wherever they are.
pub(super) fn without_secrets(v: &J) -> J {
    match v {
        J::Object(o) => J::Object(
            o.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "password" | "accountKey"))
                .map(|(k, v)| (k.clone(), without_secrets(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(super) fn migration_json(arm: &Arm, m: &Migration, expand: bool) -> J {
    let run = m.run.lock();
    let mut p = match without_secrets(&m.request) {
        J::Object(o) => o,
        _ => Map::new(),
    };
    p.insert("kind".into(), json!("SqlMi"));
    p.insert("scope".into(), json!(arm.instance_path()));
    p.insert("migrationService".into(), json!(m.service_id));
    p.insert("provisioningState".into(), json!(run.provisioning));
    p.insert("migrationStatus".into(), json!(run.status));
    p.insert("migrationOperationId".into(), json!(m.operation_id));
    p.insert("startedOn".into(), json!(rfc3339(m.started_on)));
    if let Some(t) = run.ended_on.and_then(rfc3339) {
        p.insert("endedOn".into(), json!(t));
    }
    if let Some(e) = &run.provisioning_error {
        p.insert("provisioningError".into(), json!(e));
    }
    if let Some((code, message)) = &run.error {
        p.insert(
            "migrationFailureError".into(),
            json!({ "code": code, "message": message }),
        );
    }
    if let Some(server) = m.request["sourceSqlConnection"]["dataSource"].as_str() {
        p.insert("sourceServerName".into(), json!(server));
    }
    if expand {
        let d = run
            .frozen_details
            .clone()
            .unwrap_or_else(|| details(m, &run));
        p.insert("migrationStatusDetails".into(), d);
    }
    json!({
        "id": migration_id(arm, &m.db),
        "name": m.db,
        "type": "Microsoft.DataMigration/databaseMigrations",
        "properties": p,
    })
}

/// One backup set: the files seen that belong to it.
struct SetSeen<'a> {
    header: &'a BackupHeader,
    files: Vec<&'a FileSeen>,
}

fn sets(files: &[FileSeen]) -> Vec<SetSeen<'_>> {
    let mut by_guid: BTreeMap<(i64, String), SetSeen> = BTreeMap::new();
    for f in files {
        let Some(h) = &f.header else { continue };
        by_guid
            .entry((h.last_lsn, h.backup_set_guid.clone()))
            .or_insert(SetSeen {
                header: h,
                files: vec![],
            })
            .files
            .push(f);
    }
    by_guid.into_values().collect()
}

/// What the LRS job made of the set holding `file`, if it has seen it.
fn job_state(d: Option<&Details>, file: &str) -> Option<SetState> {
    d?.sets
        .iter()
        .find(|s| s.files.iter().any(|f| f == file))
        .map(|s| s.state)
}

/// The status of one file: before the job restores it, where the runtime got it to; then
/// the job's state of its set. `Skipped` is a set the restore plan leaves out.
fn file_status(run: &Run, d: Option<&Details>, f: &FileSeen) -> &'static str {
    if run.cancelled {
        return "Cancelled";
    }
    match job_state(d, &f.name) {
        Some(SetState::Restored) => "Restored",
        Some(SetState::Restoring) => "Restoring",
        Some(SetState::Skipped) => "Skipped",
        Some(SetState::Queued) | None => f.status,
    }
}

fn set_json(run: &Run, d: Option<&Details>, s: &SetSeen) -> J {
    let h = s.header;
    let restored = s
        .files
        .first()
        .is_some_and(|f| job_state(d, &f.name) == Some(SetState::Restored));
    let skipped = s
        .files
        .first()
        .is_some_and(|f| job_state(d, &f.name) == Some(SetState::Skipped));
    let files: Vec<J> = s
        .files
        .iter()
        .map(|f| {
            let done = !matches!(f.status, "Arrived" | "Queued" | "Uploading");
            json!({
                "fileName": f.name,
                "status": file_status(run, d, f),
                "totalSize": f.size,
                "dataRead": if done { f.size } else { 0 },
                "dataWritten": if done { f.size } else { 0 },
                "copyThroughput": 0.0,
                "copyDuration": 0,
                "familySequenceNumber": f.header.as_ref().map_or(1, |h| h.stripe_index + 1),
            })
        })
        .collect();
    let mut ignore = vec![];
    if skipped {
        ignore.push(json!(
            "The backup set is not part of the restore plan (older than the full backup restored, or superseded)."
        ));
    }
    json!({
        "backupSetId": h.backup_set_guid,
        "firstLSN": h.first_lsn.to_string(),
        "lastLSN": h.last_lsn.to_string(),
        "backupType": backup_type(h.backup_type),
        "listOfBackupFiles": files,
        "backupStartDate": header_time(&h.backup_start),
        "backupFinishDate": header_time(&h.backup_finish),
        "isBackupRestored": restored,
        "hasBackupChecksums": h.checksum,
        "familyCount": h.stripe_count,
        "ignoreReasons": ignore,
    })
}

/// `migrationStatusDetails`. `migrationState` is free text in the spec; the phase names are
/// the ones the documentation's examples show where it has them
/// (`WaitForFullBackupUploadOperation`), otherwise the emulator's own.
fn details(m: &Migration, run: &Run) -> J {
    let d = run.job.as_ref().map(|j| j.details());
    let d = d.as_ref();
    let all = sets(&run.files);
    let restored = |s: &SetSeen| {
        s.files
            .first()
            .is_some_and(|f| job_state(d, &f.name) == Some(SetState::Restored))
    };
    let active: Vec<&SetSeen> = all
        .iter()
        .filter(|s| {
            s.files
                .first()
                .is_none_or(|f| job_state(d, &f.name) != Some(SetState::Skipped))
        })
        .collect();
    let full = active
        .iter()
        .rfind(|s| s.header.backup_type == BackupType::Full);
    let full_restored = full.is_some_and(|s| restored(s));
    let pending = active
        .iter()
        .filter(|s| s.header.backup_type == BackupType::Log && !restored(s))
        .count();
    let last = active.iter().rfind(|s| restored(s));
    let state = match (run.status, full.is_some(), full_restored) {
        ("Succeeded", ..) => "Completed",
        ("Failed", ..) => "Failed",
        ("Canceled" | "Canceling", ..) => "Canceled",
        ("Completing", ..) => "CompletingMigration",
        (_, false, _) => "WaitForFullBackupUploadOperation",
        (_, true, false) => "RestoreFullBackup",
        (_, true, true) if pending > 0 => "RestoreLogBackup",
        _ => "WaitForLogBackupUploadOperation",
    };
    let mut out = json!({
        "migrationState": state,
        "activeBackupSets": active.iter().map(|s| set_json(run, d, s)).collect::<Vec<_>>(),
        "invalidFiles": run.invalid,
        "blobContainerName": m.source.container(),
        "isFullBackupRestored": full_restored,
        "fileUploadBlockingErrors": run.upload_errors,
        "pendingLogBackupsCount": pending,
    });
    if let Some(s) = full {
        out["fullBackupSetInfo"] = set_json(run, d, s);
    }
    if let Some(s) = last {
        out["lastRestoredBackupSetInfo"] = set_json(run, d, s);
        if let Some(f) = s.files.first() {
            out["lastRestoredFilename"] = json!(f.name);
        }
    }
    if let Some((file, _)) = d.and_then(|d| d.current.clone()) {
        out["currentRestoringFilename"] = json!(file);
    }
    if let Some((_, message)) = &run.error {
        out["completeRestoreErrorMessage"] = json!(message);
    }
    if let Some(why) = d.and_then(|d| d.error.as_ref()) {
        out["restoreBlockingReason"] = json!(why.message);
    }
    out
}

/// The details as they are now (what a frozen view holds).
pub(super) fn details_now(m: &Migration) -> J {
    details(m, &m.run.lock())
}

/// Whether a migration may be cut over: its full backup and every log backup seen are
/// restored (methods.md §3.5: every file of the active set `Restored`,
/// `pendingLogBackupsCount = 0`).
pub(super) fn ready_for_cutover(m: &Migration) -> bool {
    let v = details(m, &m.run.lock());
    v["isFullBackupRestored"] == true && v["pendingLogBackupsCount"] == 0
}
