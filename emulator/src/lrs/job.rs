//! One Log Replay Service job: it proves it can read the database's blob folder with the
//! access it was given (the start), builds the restore plan from the files' headers, restores
//! each backup set NORECOVERY over virtual time, and either recovers after `lastBackupName`
//! (autocomplete) or keeps scanning until `completeRestore` (continuous). Where it stands is
//! its [`Details`].

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::access;
use super::details::{Details, DetectedFile, JobError, Phase, SetState, SetStatus, file_name};
use super::plan::{Plan, PlanError, PlannedSet, plan};
use crate::backup::{BackupHeader, BackupType, decode};
use crate::blob::{self, BlobLocation};
use crate::server::Server;
use crate::statement::{RestoreKind, RestoreSpec};

/// How long an LRS job may run before the service cancels it (log-replay-service-overview.md,
/// "Limitations": "A single LRS job can run for a maximum of 30 days, after which it will be
/// automatically canceled").
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Virtual time between folder scans in continuous mode.
const SCAN_EVERY: Duration = Duration::from_secs(10);
/// Virtual time one backup set takes to restore: a guess at a small MI's pace, like the
/// emulator's native restores (server.rs `run_operation`).
const PER_SET: Duration = Duration::from_secs(5);
/// Failed listings in a row, once the job runs, before it gives up. The documented codes say
/// LRS retries (`StorageBrokenIssueDetectedWhileInProgress`: "Retrying automatically...") and
/// then stops (`StorageBrokenIssueDetectedTerminateRetries`); how many times is not
/// documented, so this number is the emulator's.
const STORAGE_RETRIES: u32 = 10;

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

    pub fn new(start: Start, now: SystemTime) -> Arc<Job> {
        Arc::new(Job {
            start,
            details: Mutex::new(Details::default()),
            started: now,
            cancelled: false.into(),
        })
    }

    /// Whether it still has work to do (a job started again after a restart goes on).
    pub fn running(&self) -> bool {
        matches!(self.phase(), Phase::Starting | Phase::Restoring)
    }

    pub fn phase(&self) -> Phase {
        self.details.lock().phase
    }

    pub fn details(&self) -> Details {
        self.details.lock().clone()
    }

    /// The error it stopped with, if it did.
    pub fn error(&self) -> Option<JobError> {
        self.details.lock().error.clone()
    }

    /// Whether it never started (its storage could not be used): nothing of it is left on
    /// the instance, and its name is free again.
    pub fn failed_to_start(&self) -> bool {
        self.details
            .lock()
            .error
            .as_ref()
            .is_some_and(|e| e.at_start)
    }

    fn update(&self, f: impl FnOnce(&mut Details)) {
        f(&mut self.details.lock());
    }

    fn stop(&self, error: JobError) {
        self.update(|d| {
            d.phase = Phase::Failed;
            d.current = None;
            d.error = Some(error);
        });
    }

    /// Fails with a documented LRS code while restoring.
    fn fail(&self, code: &str, message: String) {
        self.stop(JobError {
            code: code.into(),
            message,
            at_start: false,
            guessed: false,
        });
    }

    /// Fails with a code of the emulator's own: Microsoft documents the rule but no code.
    fn fail_guessed(&self, code: &str, message: String) {
        self.stop(JobError {
            code: code.into(),
            message,
            at_start: false,
            guessed: true,
        });
    }

    /// Refuses to start (documented code).
    fn refuse_start(&self, code: &str, message: String) {
        self.stop(JobError {
            code: code.into(),
            message,
            at_start: true,
            guessed: false,
        });
    }
}

/// Runs the job until it completes, fails or is cancelled.
pub async fn run(job: Arc<Job>, mi: Arc<Server>) {
    let loc = match blob::locate_folder(&job.start.folder) {
        Ok(l) => l,
        Err(e) => return job.refuse_start("StorageBrokenIssueDetectedAtTheStart", e),
    };
    let Some(sas) = job.start.sas.clone() else {
        return job.refuse_start(
            "ManagedIdentityIssueDetectedFromTheStart",
            format!(
                "The managed instance's identity cannot read {}: give it the Storage Blob Data \
                 Reader role on the storage account or container.",
                loc.container_url
            ),
        );
    };
    if job.phase() == Phase::Starting
        && let Some(why) = access::refusal(&sas)
    {
        return job.refuse_start(
            access::REFUSAL_CODE,
            format!("LRS cannot start with the storage access given: {why}."),
        );
    }
    let mut headers: Vec<(String, BackupHeader)> = Vec::new();
    let mut payloads: HashMap<String, Vec<u8>> = HashMap::new();
    let mut applied: usize = 0;
    let mut storage_failures = 0;
    loop {
        if job.cancelled.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if mi
            .clock()
            .now()
            .duration_since(job.started)
            .unwrap_or_default()
            > MAX_AGE
        {
            // The documents say the job is canceled after 30 days but give no code for it.
            job.fail_guessed(
                "TimeoutDuringRestore",
                "The LRS job ran for more than 30 days and was canceled.".into(),
            );
            let db = job.start.database.clone();
            let _ = mi
                .with_instance_when_running(|i| i.drop_database(&db))
                .await;
            return;
        }
        let listed = match list(&loc, &sas).await {
            Ok(listed) => listed,
            Err(e) if job.phase() == Phase::Starting => {
                return job.refuse_start(
                    "StorageBrokenIssueDetectedAtTheStart",
                    format!("The storage container could not be listed with the access given: {e}"),
                );
            }
            Err(e) => {
                storage_failures += 1;
                if storage_failures >= STORAGE_RETRIES {
                    return job.fail(
                        "StorageBrokenIssueDetectedTerminateRetries",
                        format!("The storage container could not be listed {STORAGE_RETRIES} times in a row: {e}"),
                    );
                }
                pause(&mi).await;
                continue;
            }
        };
        storage_failures = 0;
        job.update(|d| {
            if d.phase == Phase::Starting {
                d.phase = Phase::Restoring;
            }
        });
        if let Err((code, message)) =
            read_new(&job, &loc, &sas, &listed, &mi, &mut headers, &mut payloads).await
        {
            return job.fail_guessed(code, message);
        }
        let planned = match plan(&headers) {
            Ok(p) => p,
            // Continuous mode waits for a full backup to arrive; anything else stops the job.
            Err(PlanError { code, .. })
                if code == "BrokenRestorePlanNoFullBackup" && !job.start.autocomplete =>
            {
                Plan::default()
            }
            Err(e) => return job.fail(e.code, e.message),
        };
        job.update(|d| d.sets = statuses(&planned, applied, &d.sets));
        for set in planned.sets.iter().skip(applied) {
            let first = file_name(&set.files[0]).to_owned();
            let now = mi.clock().now();
            job.update(|d| mark(d, &first, SetState::Restoring, now));
            if already_restored(&job, &mi, set).await {
                // A job carried on after a restart: this set reached the database before.
            } else if let Err((code, message)) = restore_set(&job, &mi, set, &payloads).await {
                return job.fail(code, message);
            }
            let now = mi.clock().now();
            job.update(|d| {
                mark(d, &first, SetState::Restored, now);
                d.current = None;
                d.last_restored = Some(first.clone());
                d.last_restored_time = Some(now);
            });
            applied += 1;
        }
        let d = job.details();
        if job.start.autocomplete {
            let wanted = job.start.last_backup_name.clone().unwrap_or_default();
            if let Some(reason) = past_last_backup(&planned, &wanted) {
                // log-replay-service-migrate.md: "If the system detects more backup files
                // beyond the last specified backup file, the migration will fail" — no code.
                return job.fail_guessed("BackupSetNotFound", reason);
            }
            if d.restored(&wanted) {
                return finish(&job, &mi).await;
            }
        } else if let Some(after) = &d.complete_after
            && d.last_restored.as_deref() == Some(after.as_str())
        {
            return finish(&job, &mi).await;
        }
        pause(&mi).await;
    }
}

/// Waits for the next scan: [`SCAN_EVERY`] of virtual time, at least 50 ms of real time
/// however fast the clock runs.
async fn pause(mi: &Server) {
    tokio::time::sleep(mi.clock().real(SCAN_EVERY).max(Duration::from_millis(50))).await;
}

/// The folder's blobs (full names), or why they could not be listed.
async fn list(loc: &BlobLocation, sas: &str) -> Result<Vec<String>, String> {
    let (l, sas) = (loc.clone(), sas.to_owned());
    blob::block_on(async move { blob::list(&l, &sas).await })
        .map(|v| v.into_iter().map(|(name, _)| name).collect())
        .map_err(|e| format!("{e:?}"))
}

/// Records the files listed and reads the backups not read yet. A file that is not a backup
/// is unrestorable; a file in a sub-folder stops the job.
async fn read_new(
    job: &Job,
    loc: &BlobLocation,
    sas: &str,
    listed: &[String],
    mi: &Server,
    headers: &mut Vec<(String, BackupHeader)>,
    payloads: &mut HashMap<String, Vec<u8>>,
) -> Result<(), (&'static str, String)> {
    let folder = match loc.blob.trim_end_matches('/') {
        "" => String::new(),
        f => format!("{f}/"),
    };
    if let Some(nested) = listed.iter().find(|n| {
        n.strip_prefix(&folder)
            .is_some_and(|rest| rest.contains('/'))
    }) {
        // log-replay-service-overview.md: "nested-folder structure isn't supported". No code
        // is documented for it; NestedFoldersNotSupported is the emulator's own.
        return Err((
            "NestedFoldersNotSupported",
            format!("{nested} is in a sub-folder; LRS reads one flat folder per database."),
        ));
    }
    let now = mi.clock().now();
    job.update(|d| {
        for name in listed {
            let name = file_name(name);
            if !d.detected.iter().any(|f| f.name == name) {
                d.detected.push(DetectedFile {
                    name: name.to_owned(),
                    seen: now,
                });
            }
        }
    });
    for name in listed {
        if payloads.contains_key(name)
            || job
                .details()
                .unrestorable
                .iter()
                .any(|u| u == file_name(name))
        {
            continue;
        }
        let file = BlobLocation {
            container_url: loc.container_url.clone(),
            blob: name.clone(),
        };
        let sas = sas.to_owned();
        let bytes = blob::block_on(async move { blob::download(&file, &sas).await })
            .map_err(|e| ("BlobStorageFailure", format!("{name}: {e:?}")))?;
        match decode(&bytes) {
            Ok((header, part)) => {
                headers.push((name.clone(), header));
                payloads.insert(name.clone(), part);
            }
            Err(_) => job.update(|d| d.unrestorable.push(file_name(name).to_owned())),
        }
    }
    Ok(())
}

/// Why autocomplete cannot finish at `wanted`: it is older than the plan, or sets follow it.
fn past_last_backup(planned: &Plan, wanted: &str) -> Option<String> {
    let holds = |s: &PlannedSet| s.files.iter().any(|f| file_name(f) == wanted);
    if planned.skipped.iter().any(holds) {
        return Some(format!(
            "lastBackupName {wanted} is older than the restore plan and was skipped."
        ));
    }
    let pos = planned.sets.iter().position(holds)?;
    let next = planned.sets.get(pos + 1)?;
    Some(format!(
        "{} follows lastBackupName {wanted}; autocomplete restores nothing past it.",
        file_name(&next.files[0])
    ))
}

/// Every set found, oldest first, with what became of it: the first `applied` sets of the
/// plan are restored, the rest queued; sets outside the plan are skipped. Times already
/// recorded are kept.
fn statuses(planned: &Plan, applied: usize, before: &[SetStatus]) -> Vec<SetStatus> {
    let mut all: Vec<(&PlannedSet, SetState)> = planned
        .sets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let state = if i < applied {
                SetState::Restored
            } else {
                SetState::Queued
            };
            (s, state)
        })
        .chain(planned.skipped.iter().map(|s| (s, SetState::Skipped)))
        .collect();
    all.sort_by(|(a, _), (b, _)| {
        (a.header.last_lsn, &a.header.backup_start)
            .cmp(&(b.header.last_lsn, &b.header.backup_start))
    });
    all.into_iter()
        .map(|(set, state)| {
            let first_stripe = file_name(&set.files[0]).to_owned();
            let earlier = before.iter().find(|s| s.first_stripe == first_stripe);
            SetStatus {
                kind: set.header.backup_type,
                files: set.files.iter().map(|f| file_name(f).to_owned()).collect(),
                size_bytes: set.header.backup_size,
                state,
                started: earlier.and_then(|s| s.started),
                finished: earlier.and_then(|s| s.finished),
                first_stripe,
            }
        })
        .collect()
}

/// Moves the set whose first stripe is `first` to `state`, noting when.
fn mark(d: &mut Details, first: &str, state: SetState, now: SystemTime) {
    if let Some(s) = d.sets.iter_mut().find(|s| s.first_stripe == first) {
        s.state = state;
        match state {
            SetState::Restoring => s.started = Some(now),
            SetState::Restored => s.finished = Some(now),
            SetState::Skipped | SetState::Queued => {}
        }
    }
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
        BackupType::Full => {
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
    payloads: &HashMap<String, Vec<u8>>,
) -> Result<(), (&'static str, String)> {
    let first = file_name(&set.files[0]).to_owned();
    job.update(|d| d.current = Some((first, set.header.backup_type)));
    // Without CHECKSUM, LRS runs a slower basic integrity check (log-replay-service-overview.md:
    // "Restoring databases without CHECKSUM takes longer"); twice the time is a guess.
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
        kind: if set.header.backup_type == BackupType::Log {
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
        })
        .map(|_| ())
}

async fn finish(job: &Job, mi: &Arc<Server>) {
    let db = job.start.database.clone();
    match mi.with_instance_when_running(|i| i.recover(&db)).await {
        Ok(_) => job.update(|d| {
            d.phase = Phase::Completed;
            d.current = None;
        }),
        Err(m) => job.fail("SqlRestoreError", m.text),
    }
}
