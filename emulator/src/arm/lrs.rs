//! The Log Replay Service half of the ARM front end: the synchronous checks of a
//! `RestoreExternalBackup` start (methods.md §2.4; ManagedDatabases.json error list), the
//! storage access a job reads with (a SAS or the instance's managed identity), and
//! `completeRestore` (§2.6). The jobs themselves run in [`crate::lrs::job`]; what they find
//! wrong with their storage fails the start operation, not the PUT.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value as J;

use super::accepted::accepted;
use super::api_version::ApiVersion;
use super::databases::{database_count_refusal, find_database};
use super::operation::JobStep;
use super::reply::{error, guessed_error, instance_down};
use super::state::{Arm, database_names};
use crate::lrs::details::Phase;
use crate::lrs::job::{Job, Start};

impl Arm {
    /// What a job started with `storageContainerIdentity: ManagedIdentity` reads with: a
    /// short Read+List SAS the emulator signs for a container granted to the identity, or
    /// None when the identity has no access there.
    fn identity_sas(&self, container_url: &str) -> Option<String> {
        let grants = self.identity_grants.lock();
        let (account, key) = grants.get(container_url.trim_end_matches('/'))?;
        let container = container_url.trim_end_matches('/').rsplit('/').next()?;
        crate::azurite::container_sas(account, key, container, "rl", "2099-01-01T00:00:00Z").ok()
    }

    /// The job restoring `db` (any case), unless it never started: a job refused at its start
    /// leaves nothing on the instance.
    pub(super) fn job(&self, db: &str) -> Option<Arc<Job>> {
        self.jobs
            .lock()
            .get(&db.to_ascii_lowercase())
            .filter(|j| !j.failed_to_start())
            .cloned()
    }

    /// An operation id that reports on `step` of `job`.
    fn job_operation(&self, job: &Arc<Job>, step: JobStep) -> String {
        let id = self.next_operation_id(0x9000);
        self.job_ops.lock().insert(id.clone(), (job.clone(), step));
        self.save();
        id
    }
}

/// The most LRS restores one instance runs at once (log-replay-service-overview.md,
/// "Limitations": "LRS can support up to 100 simultaneous restore processes per single
/// managed instance").
pub(super) const MAX_CONCURRENT_RESTORES: usize = 100;

/// `PUT …/databases/{db}` with `createMode: RestoreExternalBackup`: the checks made on the
/// request itself, then a job in the background and 202 naming its start operation.
pub(super) fn start_lrs(arm: &Arc<Arm>, db: &str, p: &J, version: ApiVersion) -> Response {
    let bad = |code: &str, message: &str| error(StatusCode::BAD_REQUEST, code, message);
    if p["collation"].as_str().is_none_or(str::is_empty) {
        return bad("MissingCollation", "Collation is required.");
    }
    let Some(uri) = p["storageContainerUri"].as_str().filter(|u| !u.is_empty()) else {
        return bad(
            "MissingStorageContainerUri",
            "Missing storage container URI",
        );
    };
    // `InvalidDatabaseCreateOrUpdateRequest` ("The request body for the create or update
    // database operation is invalid.") is the documented code for a body that cannot be used;
    // none narrower exists for a URI that is not one, or one with a reserved word.
    let invalid = |message: String| bad("InvalidDatabaseCreateOrUpdateRequest", &message);
    let loc = match crate::blob::locate(uri) {
        Ok(l) => l,
        Err(e) => return invalid(format!("storageContainerUri: {e}")),
    };
    // log-replay-service-overview.md, "Limitations": "The backup URI path should not have the
    // container name or the folder name as keywords `backup` or `backups`."
    let container = loc.container_url.rsplit('/').next().unwrap_or_default();
    if std::iter::once(container)
        .chain(loc.blob.split('/'))
        .any(|s| s.eq_ignore_ascii_case("backup") || s.eq_ignore_ascii_case("backups"))
    {
        return invalid(format!(
            "storageContainerUri {uri} has 'backup' or 'backups' as its container or folder \
             name; LRS reserves both words. Use another container or folder name."
        ));
    }
    let access = if p["storageContainerIdentity"].as_str() == Some("ManagedIdentity") {
        arm.identity_sas(&loc.container_url)
    } else {
        match p["storageContainerSasToken"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            Some(sas) => Some(sas.trim_start_matches('?').to_owned()),
            None => {
                return bad(
                    "MissingStorageContainerSasToken",
                    "Missing storage container SAS token",
                );
            }
        }
    };
    let autocomplete = p["autoCompleteRestore"].as_bool().unwrap_or(false);
    let last = p["lastBackupName"].as_str().map(str::to_owned);
    if autocomplete && last.as_deref().is_none_or(str::is_empty) {
        return bad(
            "AutoCompleteMissingLastBackupName",
            "Auto complete restore request must have lastBackupName parameter provided.",
        );
    }
    if let Some(l) = &last {
        if l.contains(['\n', '\r']) {
            return bad(
                "LastBackupNameHasNewline",
                "Please do not use forbidden characters ('\\n', '\\r') in lastBackupName.",
            );
        }
        if !l.is_ascii() {
            return bad(
                "LastBackupNameHasNonAsciiCharacter",
                "The operation was aborted because the 'LastBackupName' parameter contains invalid characters. Only ASCII characters are allowed.",
            );
        }
    }
    let names = match database_names(&arm.mi) {
        Ok(n) => n,
        Err(_) => return instance_down(),
    };
    if find_database(&names, db).is_some() || arm.job(db).is_some() {
        return bad(
            "ManagedDatabaseNameInUse",
            &format!("Database '{db}' already exists. Choose a different database name."),
        );
    }
    if let Some(refusal) = database_count_refusal(arm, &names) {
        return refusal;
    }
    let running = arm.jobs.lock().values().filter(|j| j.running()).count();
    let limit = arm.restore_limit.load(std::sync::atomic::Ordering::Relaxed);
    if running >= limit {
        // The limit is documented (above); a code for reaching it is not.
        return guessed_error(
            StatusCode::BAD_REQUEST,
            "ConcurrentRestoreLimitReached",
            &format!(
                "The managed instance already runs {running} restores from external backup, the most it runs at once ({limit}); start this one when another has finished."
            ),
        );
    }
    let job = Job::new(
        Start {
            database: db.to_owned(),
            folder: uri.to_owned(),
            sas: access,
            autocomplete,
            last_backup_name: last,
        },
        arm.mi.clock().now(),
    );
    arm.jobs.lock().insert(db.to_ascii_lowercase(), job.clone());
    let id = arm.job_operation(&job, JobStep::Start);
    arm.spawn(crate::lrs::job::run(job, arm.mi.clone()));
    accepted(arm, &id, version)
}

/// `POST …/completeRestore`: cut over once the named file is the last restored (§2.6). The
/// codes are ManagedDatabases.json's: `LRSCutoverDatabaseDoesNotExist`,
/// `LRSCutoverDatabaseNotInRestoringState`, `LRSCutoverDatabaseAlreadyRestored`,
/// `ExternalBackupAlreadySignaledToComplete`, `LRSCutoverAlreadyInitiated`,
/// `RequiredBackupIsNotLastRestored`.
pub(super) fn complete_restore(
    arm: &Arc<Arm>,
    db: &str,
    body: &[u8],
    version: ApiVersion,
) -> Response {
    let bad = |code: &str, message: String| error(StatusCode::BAD_REQUEST, code, &message);
    let v: J = serde_json::from_slice(body).unwrap_or_default();
    let Some(name) = v["lastBackupName"].as_str().filter(|n| !n.is_empty()) else {
        return bad(
            "InvalidDatabaseCompleteRestoreRequest",
            "lastBackupName is required.".into(),
        );
    };
    let Some(job) = arm.job(db) else {
        let names = match database_names(&arm.mi) {
            Ok(n) => n,
            Err(_) => return instance_down(),
        };
        return match find_database(&names, db) {
            None => bad(
                "LRSCutoverDatabaseDoesNotExist",
                format!(
                    "The operation was aborted because the database name specified in the request ('{db}') doesn't match any database name on the specified server."
                ),
            ),
            Some(_) => bad(
                "LRSCutoverDatabaseNotInRestoringState",
                format!(
                    "The operation was aborted because database '{db}' is not in restoring state."
                ),
            ),
        };
    };
    let d = job.details();
    match d.phase {
        Phase::Completed => {
            return bad(
                "LRSCutoverDatabaseAlreadyRestored",
                format!("The operation was aborted because database '{db}' was already restored."),
            );
        }
        Phase::Failed => {
            return bad(
                "LRSCutoverDatabaseNotInRestoringState",
                format!(
                    "The operation was aborted because the restore of '{db}' has failed; stop it (delete the database) and start again."
                ),
            );
        }
        Phase::Starting | Phase::Restoring => {}
    }
    if job.start.autocomplete {
        return bad(
            "ExternalBackupAlreadySignaledToComplete",
            "The restore request has already been signaled to complete (autoCompleteRestore)."
                .into(),
        );
    }
    if d.complete_after.is_some() {
        return bad(
            "LRSCutoverAlreadyInitiated",
            format!(
                "The operation was aborted because a cutover for database '{db}' is already in progress."
            ),
        );
    }
    if d.last_restored.as_deref() != Some(name) {
        return bad(
            "RequiredBackupIsNotLastRestored",
            format!(
                "Migration cannot be completed because '{name}' is not the name of the last backup file that is restored ({}).",
                d.last_restored.as_deref().unwrap_or("none yet")
            ),
        );
    }
    job.details.lock().complete_after = Some(name.to_owned());
    let id = arm.job_operation(&job, JobStep::Complete);
    arm.save();
    accepted(arm, &id, version)
}
