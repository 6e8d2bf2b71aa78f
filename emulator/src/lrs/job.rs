//! One Log Replay Service job: it scans the database's blob folder with the SAS it was given,
//! builds the restore plan from the files' headers, restores each backup set NORECOVERY over
//! virtual time, and either recovers after `lastBackupName` (autocomplete) or keeps scanning
//! until `completeRestore` (continuous). What it is doing is what `restoreDetails` reports.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};

use super::plan::{PlanError, PlannedSet, plan};
use crate::backup::{BackupHeader, decode};
use crate::blob::{self, BlobLocation};
use crate::server::Server;
use crate::statement::{RestoreKind, RestoreSpec};

/// How long an LRS job may run before the service cancels it (methods.md §2.7).
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Virtual time between folder scans in continuous mode.
const SCAN_EVERY: Duration = Duration::from_secs(10);
/// Virtual time one backup set takes to restore: a guess at a small MI's pace, like the
/// emulator's native restores (server.rs `run_operation`).
const PER_SET: Duration = Duration::from_secs(5);

/// What a job was started with (the PUT's properties).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Start {
    pub database: String,
    /// The folder URL, e.g. `http://127.0.0.1:10000/devstoreaccount1/migration/Sales`.
    pub folder: String,
    /// The SAS the job reads with: the one it was given, or for a managed identity one the
    /// emulator signs; None when the identity has no access to the container.
    pub sas: Option<String>,
    pub autocomplete: bool,
    pub last_backup_name: Option<String>,
}

/// Where a job is, as `restoreDetails` shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Details {
    /// `Restoring`, `Completed` or `Failed`.
    pub status: String,
    pub current: Option<String>,
    pub last_restored: Option<String>,
    pub last_restored_time: Option<String>,
    pub detected: usize,
    pub last_uploaded: Option<String>,
    pub unrestorable: Vec<String>,
    pub skipped: Vec<String>,
    pub restored_sets: usize,
    /// The restore plan as of the last scan, with what became of each set.
    pub sets: Vec<SetStatus>,
    pub error: Option<(String, String)>,
    /// The file name `completeRestore` asked to finish after.
    pub complete_after: Option<String>,
}

/// One backup set of the plan, as the newer `restoreDetails` arrays list it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetStatus {
    pub kind: crate::backup::BackupType,
    pub first_stripe: String,
    pub stripes: usize,
    pub size_mb: u64,
    /// `Queued`, `Restoring` or `Restored`.
    pub status: String,
}

pub struct Job {
    pub start: Start,
    pub details: Mutex<Details>,
    pub started: SystemTime,
    pub cancelled: std::sync::atomic::AtomicBool,
}

/// A job as the ARM front end keeps it on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedJob {
    pub start: Start,
    pub details: Details,
    pub started: SystemTime,
}

impl Job {
    pub fn saved(&self) -> SavedJob {
        SavedJob {
            start: self.start.clone(),
            details: self.details(),
            started: self.started,
        }
    }

    pub fn from_saved(saved: SavedJob) -> Arc<Job> {
        Arc::new(Job {
            start: saved.start,
            details: Mutex::new(saved.details),
            started: saved.started,
            cancelled: false.into(),
        })
    }

    /// Whether it still has work to do (a job started again after a restart goes on).
    pub fn running(&self) -> bool {
        self.details.lock().status == "Restoring"
    }

    pub fn new(start: Start, now: SystemTime) -> Arc<Job> {
        Arc::new(Job {
            start,
            details: Mutex::new(Details {
                status: "Restoring".into(),
                ..Details::default()
            }),
            started: now,
            cancelled: false.into(),
        })
    }

    pub fn details(&self) -> Details {
        self.details.lock().clone()
    }

    fn update(&self, f: impl FnOnce(&mut Details)) {
        f(&mut self.details.lock());
    }

    fn fail(&self, code: &str, message: String) {
        self.update(|d| {
            d.status = "Failed".into();
            d.current = None;
            d.error = Some((code.to_owned(), message));
        });
    }

    /// `restoreDetails/Default` as ARM shapes it: the 2023-08-01 properties and the newer
    /// counts and backup-set arrays (methods.md §2.5); clients read what they know.
    pub fn restore_details(&self, id: &str) -> J {
        let d = self.details();
        let count = |status: &str| -> usize {
            d.sets
                .iter()
                .filter(|s| s.status == status)
                .map(|s| s.stripes)
                .sum()
        };
        let sets_of = |kind: crate::backup::BackupType| -> Vec<J> {
            d.sets
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| {
                    json!({
                        "status": s.status,
                        "firstStripeName": s.first_stripe,
                        "numberOfStripes": s.stripes,
                        "backupSizeMB": s.size_mb,
                    })
                })
                .collect()
        };
        let mut props = json!({
            "numberOfFilesQueued": count("Queued"),
            "numberOfFilesRestoring": count("Restoring"),
            "numberOfFilesRestored": count("Restored"),
            "numberOfFilesUnrestorable": d.unrestorable.len(),
            "fullBackupSets": sets_of(crate::backup::BackupType::Full),
            "diffBackupSets": sets_of(crate::backup::BackupType::Differential),
            "logBackupSets": sets_of(crate::backup::BackupType::Log),
            "status": d.status,
            "currentRestoringFileName": d.current,
            "lastRestoredFileName": d.last_restored,
            "lastRestoredFileTime": d.last_restored_time,
            "numberOfFilesDetected": d.detected,
            "lastUploadedFileName": d.last_uploaded,
            "unrestorableFiles": d.unrestorable,
            "numberOfFilesSkipped": d.skipped.len(),
            "type": "LRSRestore",
        });
        if let Some((code, message)) = &d.error {
            props["blockReason"] = json!(format!("{code}: {message}"));
            props["errorCode"] = json!(code);
        }
        json!({
            "id": id,
            "name": "current",
            "type": "Microsoft.Sql/managedInstances/databases/restoreDetails",
            "properties": props,
        })
    }
}

/// The file part of a blob name.
pub fn file_name(blob: &str) -> &str {
    blob.rsplit('/').next().unwrap_or(blob)
}

/// Runs the job until it completes, fails or is cancelled.
pub async fn run(job: Arc<Job>, mi: Arc<Server>) {
    let loc = match blob::locate(&job.start.folder) {
        Ok(l) => l,
        Err(e) => return job.fail("MissingStorageContainerUri", e),
    };
    if job.start.sas.is_none() {
        return job.fail(
            "ManagedIdentityIssueDetectedFromTheStart",
            format!(
                "The managed instance's identity cannot read {}: give it the Storage Blob Data \
                 Reader role on the storage account or container.",
                loc.container_url
            ),
        );
    }
    let mut headers: Vec<(String, BackupHeader)> = Vec::new();
    let mut payloads: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut applied: usize = 0;
    loop {
        if job.cancelled.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let now = mi.clock().now();
        if now.duration_since(job.started).unwrap_or_default() > MAX_AGE {
            job.fail(
                "TimeoutDuringRestore",
                "The LRS job ran for more than 30 days and was cancelled.".into(),
            );
            let db = job.start.database.clone();
            let _ = mi
                .with_instance_when_running(|i| i.drop_database(&db))
                .await;
            return;
        }
        if let Err((code, message)) = scan(&job, &loc, &mut headers, &mut payloads).await {
            return job.fail(code, message);
        }
        let (sets, skipped) = match plan(&headers) {
            Ok(p) => p,
            // Continuous mode waits for a full backup to arrive; anything else stops the job.
            Err(PlanError { code, .. })
                if code == "BrokenRestorePlanNoFullBackup" && !job.start.autocomplete =>
            {
                (vec![], vec![])
            }
            Err(e) => return job.fail(e.code, e.message),
        };
        job.update(|d| {
            d.skipped = skipped;
            d.sets = sets
                .iter()
                .enumerate()
                .map(|(i, set)| SetStatus {
                    kind: set.header.backup_type,
                    first_stripe: file_name(&set.files[0]).to_owned(),
                    stripes: set.files.len(),
                    size_mb: set.header.backup_size.div_ceil(1 << 20),
                    status: if i < applied { "Restored" } else { "Queued" }.into(),
                })
                .collect();
        });
        for (i, set) in sets.iter().enumerate().skip(applied) {
            job.update(|d| d.sets[i].status = "Restoring".into());
            if already_restored(&job, &mi, set).await {
                // A job carried on after a restart: this set reached the database before.
                let last = file_name(set.files.last().unwrap_or(&set.files[0])).to_owned();
                job.update(|d| {
                    d.current = None;
                    d.last_restored = Some(last);
                });
            } else if let Err((code, message)) = restore_set(&job, &mi, set, &payloads).await {
                return job.fail(code, message);
            }
            job.update(|d| d.sets[i].status = "Restored".into());
            applied += 1;
        }
        let last = job.details().last_restored;
        if job.start.autocomplete {
            let wanted = job.start.last_backup_name.clone().unwrap_or_default();
            if job.details().skipped.iter().any(|f| file_name(f) == wanted) {
                return job.fail(
                    "BackupSetNotFound",
                    format!(
                        "lastBackupName {wanted} is older than the restore plan and was skipped."
                    ),
                );
            }
            // A file after lastBackupName fails the job (methods.md §2.4).
            if let Some(pos) = sets
                .iter()
                .position(|s| s.files.iter().any(|f| file_name(f) == wanted))
                && pos + 1 < sets.len()
            {
                return job.fail(
                    "BackupSetNotFound",
                    format!(
                        "{} was restored after lastBackupName {wanted}; autocomplete restores nothing past it.",
                        file_name(&sets[pos + 1].files[0])
                    ),
                );
            }
            if last.as_deref() == Some(wanted.as_str()) {
                return finish(&job, &mi).await;
            }
        } else if let Some(after) = job.details().complete_after
            && last.as_deref() == Some(after.as_str())
        {
            return finish(&job, &mi).await;
        }
        // At least 50 ms of real time between scans, however fast the clock runs.
        tokio::time::sleep(mi.clock().real(SCAN_EVERY).max(Duration::from_millis(50))).await;
    }
}

/// Lists the folder and reads the files not read yet. Sub-folders and files that are not
/// backups are reported as the service does.
async fn scan(
    job: &Job,
    loc: &BlobLocation,
    headers: &mut Vec<(String, BackupHeader)>,
    payloads: &mut std::collections::HashMap<String, Vec<u8>>,
) -> Result<(), (&'static str, String)> {
    let (l, sas) = (loc.clone(), job.start.sas.clone().unwrap_or_default());
    let listed = blob::block_on(async move { blob::list(&l, &sas).await }).map_err(|e| {
        (
            "StorageBrokenIssueDetectedAtTheStart",
            format!("The storage container could not be listed with the SAS given: {e:?}"),
        )
    })?;
    let folder = format!("{}/", loc.blob.trim_end_matches('/'));
    if let Some((nested, _)) = listed.iter().find(|(n, _)| {
        n.strip_prefix(&folder)
            .is_some_and(|rest| rest.contains('/'))
    }) {
        // Guess: the reference names the flat-folder rule but no code for breaking it.
        return Err((
            "NestedFoldersNotSupported",
            format!("{nested} is in a sub-folder; LRS reads one flat folder per database."),
        ));
    }
    job.update(|d| {
        d.detected = listed.len();
        d.last_uploaded = listed.last().map(|(n, _)| file_name(n).to_owned());
    });
    for (name, _) in &listed {
        if payloads.contains_key(name) || job.details().unrestorable.contains(name) {
            continue;
        }
        let file = BlobLocation {
            container_url: loc.container_url.clone(),
            blob: name.clone(),
        };
        let sas = job.start.sas.clone().unwrap_or_default();
        let bytes = blob::block_on(async move { blob::download(&file, &sas).await })
            .map_err(|e| ("BlobStorageFailure", format!("{name}: {e:?}")))?;
        match decode(&bytes) {
            Ok((header, part)) => {
                headers.push((name.clone(), header));
                payloads.insert(name.clone(), part);
            }
            Err(_) => job.update(|d| d.unrestorable.push(name.clone())),
        }
    }
    Ok(())
}

/// Whether `set` is in the job's database already: the full backup it was restored from, or
/// a differential or log backup it has rolled forward past. A job goes on this way after a
/// restart of the front end without restoring anything twice.
async fn already_restored(job: &Job, mi: &Arc<Server>, set: &PlannedSet) -> bool {
    let db = job.start.database.clone();
    let Some(info) = mi
        .with_instance_when_running(|i| i.database(&db).cloned())
        .await
    else {
        return false;
    };
    match set.header.backup_type {
        crate::backup::BackupType::Full => {
            info.restored_full_guid.as_deref() == Some(set.header.backup_set_guid.as_str())
        }
        _ => info.restored_full_guid.is_some() && info.restored_lsn >= set.header.last_lsn,
    }
}

/// Restores one backup set NORECOVERY, taking virtual time.
async fn restore_set(
    job: &Job,
    mi: &Arc<Server>,
    set: &PlannedSet,
    payloads: &std::collections::HashMap<String, Vec<u8>>,
) -> Result<(), (&'static str, String)> {
    let first = file_name(&set.files[0]).to_owned();
    job.update(|d| d.current = Some(first.clone()));
    // Without CHECKSUM, LRS runs a slower basic integrity check (methods.md §2.2); twice the
    // time is a guess at "slower".
    let pace = if set.header.checksum {
        PER_SET
    } else {
        PER_SET * 2
    };
    tokio::time::sleep(mi.clock().real(pace)).await;
    let payload: Vec<u8> = set
        .files
        .iter()
        .flat_map(|f| payloads.get(f).cloned().unwrap_or_default())
        .collect();
    let spec = RestoreSpec {
        kind: if set.header.backup_type == crate::backup::BackupType::Log {
            RestoreKind::Log
        } else {
            RestoreKind::Database
        },
        database: Some(job.start.database.clone()),
        devices: vec![],
        norecovery: true,
        replace: false,
        checksum: set.header.checksum,
        options: vec!["NORECOVERY".into()],
    };
    let db = job.start.database.clone();
    let header = set.header.clone();
    mi.with_instance_when_running(|i| i.apply(&db, &header, payload, &spec, false))
        .await
        .map_err(|m| match m.number {
            33111 => ("MissingThumbprint", m.text),
            _ => (
                "SqlRestoreError",
                format!("{} (error {})", m.text, m.number),
            ),
        })?;
    let last = file_name(set.files.last().unwrap_or(&set.files[0])).to_owned();
    job.update(|d| {
        d.current = None;
        d.last_restored = Some(last);
        d.last_restored_time = Some(crate::protocol::types::now_text());
        d.restored_sets += 1;
    });
    Ok(())
}

async fn finish(job: &Job, mi: &Arc<Server>) {
    let db = job.start.database.clone();
    match mi.with_instance_when_running(|i| i.recover(&db)).await {
        Ok(_) => job.update(|d| d.status = "Completed".into()),
        Err(m) => job.fail("SqlRestoreError", m.text),
    }
}
