//! One database migration at work: it finds the backups (in the blob container, or on the
//! share through the self-hosted integration runtime, `dms_runtime`), checks them as DMS
//! does before it restores anything, hands the folder to the instance's Log Replay Service
//! job ([`crate::lrs::job`], whose chain rules it does not repeat), and reads the job back
//! into DMS's states and error codes (methods.md §3.4–3.6).

use std::sync::Arc;
use std::time::Duration;

use super::dms_state::{FileSeen, Migration, Source};
use super::state::Arm;
use crate::backup::BackupType;
use crate::lrs::details::{JobError, Phase};
use crate::lrs::job::{Job, Start};

/// Real time between two looks at the source.
const TICK: Duration = Duration::from_millis(100);

impl Arm {
    /// Carries on the migrations still going when the front end (re)starts: each follows
    /// the LRS job the front end resumed (the one it read back, when it keeps its state on
    /// disk).
    pub(super) fn resume_migrations(self: &Arc<Self>) {
        let going: Vec<Arc<Migration>> = self
            .dms
            .migrations
            .lock()
            .values()
            .filter(|m| !m.run.lock().ended())
            .cloned()
            .collect();
        for m in going {
            let job = self.jobs.lock().get(&m.db.to_ascii_lowercase()).cloned();
            {
                let mut state = m.run.lock();
                if state.job.is_some() {
                    state.job = job;
                }
            }
            self.spawn(run(self.clone(), m));
        }
    }
}

pub(super) async fn run(arm: Arc<Arm>, m: Arc<Migration>) {
    let (endpoint, account, key) = m.source.storage();
    let container = m.source.container().to_owned();
    let container_url = format!("{}/{container}", endpoint.trim_end_matches('/'));
    let read_sas =
        crate::azurite::container_sas(account, key, &container, "rl", "2099-01-01T00:00:00Z");
    let Ok(read_sas) = read_sas else {
        return fail(
            &m,
            "InvalidStorageAccount",
            "The storage account key is not a valid key.".into(),
        );
    };
    if let Source::Share { .. } = &m.source
        && let Err(e) = super::dms_runtime::create_container(&m.source).await
    {
        return fail(
            &m,
            "InvalidStorageAccount",
            format!("The target storage account cannot be written: {e}"),
        );
    }
    loop {
        if m.run.lock().cancelled {
            return stop(&arm, &m, "Canceled").await;
        }
        if m.run.lock().ended() {
            return;
        }
        if !instance_ready(&arm, &m) {
            tokio::time::sleep(TICK).await;
            continue;
        }
        let found = match &m.source {
            Source::Blob { .. } => scan_blob(&m, &container_url, &read_sas).await,
            Source::Share { .. } => super::dms_runtime::step(&arm, &m).await,
        };
        if let Err((code, message)) = found {
            return fail(&m, &code, message);
        }
        if let Err(message) = check(&m) {
            // methods.md §3.6: 2009 MigrationRestoreFailed (missing checksum; several
            // databases in one folder).
            cancel_job(&arm, &m);
            return fail(&m, "MigrationRestoreFailed", message);
        }
        {
            let mut run = m.run.lock();
            if run.provisioning == "Provisioning" {
                run.provisioning = "Succeeded";
            }
        }
        start_job(&arm, &m, &container_url, &read_sas);
        follow_job(&m);
        tokio::time::sleep(TICK).await;
    }
}

/// Whether the target instance can be restored to. While it is not (stopped, restarting) the
/// migration waits as `Retriable` with 2030 `AzureSQLManagedInstanceNotReady` (methods.md
/// §3.6), and carries on when it is back.
fn instance_ready(arm: &Arm, m: &Migration) -> bool {
    const NOT_READY: &str = "AzureSQLManagedInstanceNotReady";
    let mut run = m.run.lock();
    if arm.mi.is_running() {
        if run.error.as_ref().is_some_and(|(c, _)| c == NOT_READY) {
            run.status = "InProgress";
            run.error = None;
        }
        return true;
    }
    if !run.ended() {
        run.status = "Retriable";
        run.error = Some((
            NOT_READY.into(),
            format!(
                "The target Azure SQL Managed Instance '{}' is not ready; the migration of '{}' resumes when it is.",
                arm.options.instance, m.db
            ),
        ));
    }
    false
}

/// Reads the headers of the container's blobs not seen yet.
async fn scan_blob(m: &Migration, container_url: &str, sas: &str) -> Result<(), (String, String)> {
    let Ok(loc) = crate::blob::locate_folder(container_url) else {
        return Err((
            "InvalidStorageAccount".into(),
            format!("{container_url} is not a container URL"),
        ));
    };
    // Awaited on the front end's own tasks (not `blob::block_on`), so stopping the front end
    // aborts a listing in flight instead of waiting out the storage client's retries.
    let listed = match crate::blob::list(&loc, sas).await {
        Ok(l) => l,
        Err(e) => {
            // The documents list storage that DMS cannot read under 2009 (storage firewall,
            // methods.md §3.6).
            return Err((
                "MigrationRestoreFailed".into(),
                format!(
                    "Migration for Database '{}' failed with error the storage container {container_url} could not be read: {e:?}",
                    m.db
                ),
            ));
        }
    };
    for (name, size) in listed {
        if seen(m, &name) {
            continue;
        }
        let file = crate::blob::BlobLocation {
            container_url: loc.container_url.clone(),
            blob: name.clone(),
        };
        let bytes = crate::blob::download(&file, sas).await.map_err(|e| {
            (
                "MigrationRestoreFailed".to_owned(),
                format!("{name}: {e:?}"),
            )
        })?;
        let mut run = m.run.lock();
        match crate::backup::decode(&bytes) {
            // A blob source has no upload step: a file is `Queued` for the restore as soon as
            // it is read. Guess: the documents list the statuses but not which a blob-source
            // file starts in; `Arrived` → `Queued` is collapsed into one look.
            Ok((header, _)) => run.files.push(FileSeen {
                name,
                size,
                header: Some(header),
                status: "Queued",
            }),
            Err(_) => run.invalid.push(name),
        }
    }
    Ok(())
}

/// DMS's own checks of the backups found, before LRS sees them: each is a backup of the
/// source database, and a full backup carries checksums ("Full backup … is missing
/// checksum", methods.md §3.2).
fn check(m: &Migration) -> Result<(), String> {
    let run = m.run.lock();
    for f in &run.files {
        let Some(h) = &f.header else { continue };
        if !h.database.eq_ignore_ascii_case(&m.source_db) {
            return Err(format!(
                "Migration for Database '{}' failed with error the backup {} is of database '{}', not '{}': keep one database's backups per folder.",
                m.db, f.name, h.database, m.source_db
            ));
        }
        if h.backup_type == BackupType::Full && !h.checksum {
            return Err(format!(
                "Migration for Database '{}' failed with error Full backup {} is missing checksum. Take backups WITH CHECKSUM.",
                m.db, f.name
            ));
        }
    }
    Ok(())
}

/// Hands the folder to an LRS job once a full backup is there to start from.
fn start_job(arm: &Arc<Arm>, m: &Migration, folder: &str, sas: &str) {
    let mut run = m.run.lock();
    let ready = |f: &FileSeen| {
        f.header
            .as_ref()
            .is_some_and(|h| h.backup_type == BackupType::Full)
            && matches!(f.status, "Queued" | "Uploaded")
    };
    if run.job.is_some() || !run.files.iter().any(ready) {
        return;
    }
    let job = Job::new(
        Start {
            database: m.db.clone(),
            folder: folder.to_owned(),
            sas: Some(sas.to_owned()),
            autocomplete: m.offline,
            last_backup_name: m
                .offline
                .then(|| m.last_backup.clone().unwrap_or_else(|| newest(&run.files))),
        },
        arm.mi.clock().now(),
    );
    arm.jobs
        .lock()
        .insert(m.db.to_ascii_lowercase(), job.clone());
    arm.spawn(crate::lrs::job::run(job.clone(), arm.mi.clone()));
    run.job = Some(job);
}

/// The newest backup seen: what an offline share migration without `lastBackupName` ends
/// with (methods.md §3.3: "for file shares `lastBackupName` is optional (service picks the
/// newest)").
fn newest(files: &[FileSeen]) -> String {
    files
        .iter()
        .filter_map(|f| f.header.as_ref().map(|h| (h.last_lsn, f.name.clone())))
        .max()
        .map(|(_, n)| n)
        .unwrap_or_default()
}

/// DMS's error for an LRS job's failure. The known-issues page ("Known issues, limitations,
/// and troubleshooting", Azure SQL migration) gives the texts: 2009 `MigrationRestoreFailed`
/// "Migration for Database 'DatabaseName' failed with error cannot find server certificate
/// with thumbprint"; 2007 `CutoverFailedOrCancelled` "Cutover failed or cancelled for
/// database <DatabaseName>. Error details: The restore plan is broken because …" — a broken
/// chain is 2007 there, where the brief had it under 2009; the page wins.
fn dms_error(db: &str, e: &JobError) -> (String, String) {
    if e.code == "MissingThumbprint" {
        return (
            "MigrationRestoreFailed".into(),
            format!(
                "Migration for Database '{db}' failed with error cannot find server certificate with thumbprint. {}",
                e.message
            ),
        );
    }
    if e.code.starts_with("BrokenRestorePlan") {
        return (
            "CutoverFailedOrCancelled".into(),
            format!(
                "Cutover failed or cancelled for database {db}. Error details: The restore plan is broken: {}",
                e.message
            ),
        );
    }
    (
        "MigrationRestoreFailed".into(),
        format!(
            "Migration for Database '{db}' failed with error {} ({})",
            e.message, e.code
        ),
    )
}

/// Reads the job into the migration's status.
fn follow_job(m: &Migration) {
    let mut run = m.run.lock();
    let Some(job) = run.job.clone() else { return };
    let d = job.details();
    match (d.phase, &d.error) {
        (Phase::Failed, Some(e)) => {
            let (code, message) = dms_error(&m.db, e);
            drop(run);
            fail(m, &code, message);
        }
        (Phase::Completed, _) => {
            run.status = "Succeeded";
            run.ended_on = Some(std::time::SystemTime::now());
        }
        _ if run.cutover => run.status = "Completing",
        _ if run.status == "Retriable" => {}
        _ => {
            drop(run);
            // methods.md §3.4: online migrations show `ReadyForCutover` once everything
            // found is restored.
            let ready = !m.offline && super::dms_shape::ready_for_cutover(m);
            m.run.lock().status = if ready {
                "ReadyForCutover"
            } else {
                "InProgress"
            };
        }
    }
}

pub(super) fn fail(m: &Migration, code: &str, message: String) {
    let mut run = m.run.lock();
    if run.provisioning == "Provisioning" {
        run.provisioning = "Failed";
        run.provisioning_error = Some(message.clone());
    }
    run.status = "Failed";
    run.error = Some((code.to_owned(), message));
    run.ended_on = Some(std::time::SystemTime::now());
}

fn cancel_job(arm: &Arm, m: &Migration) {
    if let Some(job) = m.run.lock().job.clone() {
        job.cancelled
            .store(true, std::sync::atomic::Ordering::Relaxed);
        arm.jobs.lock().remove(&m.db.to_ascii_lowercase());
    }
}

/// Ends a running migration as `status`: its LRS job stops and the database it was
/// restoring is dropped (a canceled LRS restore leaves no database behind).
pub(super) async fn stop(arm: &Arm, m: &Migration, status: &'static str) {
    let restoring = m
        .run
        .lock()
        .job
        .as_ref()
        .is_some_and(|j| j.phase() != Phase::Completed);
    cancel_job(arm, m);
    if restoring {
        let db = m.db.clone();
        let _ = arm
            .mi
            .with_instance_when_running(|i| i.drop_database(&db))
            .await;
    }
    let mut run = m.run.lock();
    run.cancelled = true;
    run.status = status;
    run.ended_on = Some(std::time::SystemTime::now());
}

fn seen(m: &Migration, name: &str) -> bool {
    m.run.lock().seen(name)
}
