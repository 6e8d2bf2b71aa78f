//! The Log Replay Service half of the ARM front end: the synchronous checks of a
//! `RestoreExternalBackup` start (methods.md §2.4), the storage access a job reads with (a SAS
//! or the instance's managed identity), and `completeRestore` (§2.6). The jobs themselves run
//! in [`crate::lrs::job`].

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value as J;

use super::reply::{accepted, error, instance_down};
use super::state::{Arm, database_names};

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
}

impl Arm {
    pub(super) fn job(&self, db: &str) -> Option<Arc<crate::lrs::job::Job>> {
        self.jobs.lock().get(&db.to_ascii_lowercase()).cloned()
    }

    /// An operation id that reports `job`'s progress.
    pub(super) fn job_operation(&self, job: &Arc<crate::lrs::job::Job>) -> String {
        let id = self.next_operation_id(0x9000);
        self.job_ops.lock().insert(id.clone(), job.clone());
        self.save();
        id
    }
}

/// The most LRS restores one instance runs at once (methods.md §2.7).
pub(super) const MAX_CONCURRENT_RESTORES: usize = 100;

/// `PUT …/databases/{db}` with `createMode: RestoreExternalBackup`: the synchronous checks of
/// methods.md §2.4, then a job in the background.
pub(super) fn start_lrs(arm: &Arc<Arm>, db: &str, p: &J) -> Response {
    let bad = |code: &str, message: &str| error(StatusCode::BAD_REQUEST, code, message);
    if p["collation"].as_str().is_none_or(str::is_empty) {
        return bad(
            "MissingCollation",
            "Collation is required for a restore from external backup.",
        );
    }
    let Some(uri) = p["storageContainerUri"].as_str().filter(|u| !u.is_empty()) else {
        return bad(
            "MissingStorageContainerUri",
            "storageContainerUri is required.",
        );
    };
    let access = if p["storageContainerIdentity"].as_str() == Some("ManagedIdentity") {
        match crate::blob::locate(uri) {
            Ok(loc) => arm.identity_sas(&loc.container_url),
            Err(e) => return bad("InvalidStorageContainerUri", &e),
        }
    } else {
        match sas_access(p) {
            Ok(sas) => Some(sas),
            Err((code, message)) => return bad(code, &message),
        }
    };
    let autocomplete = p["autoCompleteRestore"].as_bool().unwrap_or(false);
    let last = p["lastBackupName"].as_str().map(str::to_owned);
    if autocomplete && last.as_deref().is_none_or(str::is_empty) {
        return bad(
            "AutoCompleteMissingLastBackupName",
            "lastBackupName is required with autoCompleteRestore.",
        );
    }
    if let Some(l) = &last {
        if l.contains(['\n', '\r']) {
            return bad("LastBackupNameHasNewline", "lastBackupName has a newline.");
        }
        if !l.is_ascii() {
            return bad(
                "LastBackupNameHasNonAsciiCharacter",
                "lastBackupName has a non-ASCII character.",
            );
        }
    }
    let loc = match crate::blob::locate(uri) {
        Ok(l) => l,
        Err(e) => return bad("InvalidStorageContainerUri", &e),
    };
    // `backup` and `backups` are reserved in the container and folder path (methods.md §2.2).
    // Guess: the reference gives no code for it.
    let container = loc
        .container_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if std::iter::once(container.as_str())
        .chain(loc.blob.split('/'))
        .any(|s| s.eq_ignore_ascii_case("backup") || s.eq_ignore_ascii_case("backups"))
    {
        return bad(
            "StorageContainerUriContainsReservedWord",
            "The words 'backup' and 'backups' are reserved in the container name and folder path.",
        );
    }
    let Ok(names) = database_names(&arm.mi) else {
        return instance_down();
    };
    if names.iter().any(|(n, _)| n.eq_ignore_ascii_case(db)) || arm.job(db).is_some() {
        return bad(
            "ManagedDatabaseNameInUse",
            &format!("Database '{db}' already exists on the managed instance."),
        );
    }
    let running = arm
        .jobs
        .lock()
        .values()
        .filter(|j| j.details().status == "Restoring")
        .count();
    let limit = arm.restore_limit.load(std::sync::atomic::Ordering::Relaxed);
    if running >= limit {
        return bad(
            "DatabaseNumberLimitReached",
            &format!("The instance already runs {limit} restores."),
        );
    }
    let job = crate::lrs::job::Job::new(
        crate::lrs::job::Start {
            database: db.to_owned(),
            folder: uri.to_owned(),
            sas: access,
            autocomplete,
            last_backup_name: last,
        },
        arm.mi.clock().now(),
    );
    arm.jobs.lock().insert(db.to_ascii_lowercase(), job.clone());
    let id = arm.job_operation(&job);
    arm.spawn(crate::lrs::job::run(job, arm.mi.clone()));
    accepted(
        arm,
        "managedDatabaseAzureAsyncOperation",
        "azure-asyncoperation",
        &id,
    )
}

/// The SAS of a start with `storageContainerIdentity: SharedAccessSignature`, checked as LRS
/// checks it, or the refusal.
fn sas_access(p: &J) -> Result<String, (&'static str, String)> {
    let bad = |code: &'static str, message: &str| Err((code, message.to_owned()));
    let Some(sas) = p["storageContainerSasToken"]
        .as_str()
        .filter(|s| !s.is_empty())
    else {
        return bad(
            "MissingStorageContainerSasToken",
            "storageContainerSasToken is required with SharedAccessSignature.",
        );
    };
    // LRS refuses a SAS with any permission beyond Read and List (methods.md §2.2). Guess:
    // the reference gives no code for it.
    let mut perms: Vec<char> = sas
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("sp="))
        .unwrap_or_default()
        .chars()
        .collect();
    perms.sort_unstable();
    if perms != ['l', 'r'] {
        return bad(
            "InvalidStorageContainerSasTokenPermissions",
            &format!(
                "The SAS grants '{}'; LRS needs exactly Read and List (sp=rl).",
                perms.iter().collect::<String>()
            ),
        );
    }
    Ok(sas.trim_start_matches('?').to_owned())
}

/// `POST …/completeRestore`: cut over once the named file is the last restored (§2.6).
pub(super) fn complete_restore(arm: &Arc<Arm>, db: &str, body: &[u8]) -> Response {
    let bad = |code: &str, message: String| error(StatusCode::BAD_REQUEST, code, &message);
    let v: J = serde_json::from_slice(body).unwrap_or_default();
    let Some(name) = v["lastBackupName"].as_str() else {
        return bad(
            "InvalidDatabaseCompleteRestoreRequest",
            "lastBackupName is required.".into(),
        );
    };
    let Some(job) = arm.job(db) else {
        return bad(
            "ExternalBackupRestoreHasNotBeenStarted",
            format!("No restore from external backup runs for '{db}'."),
        );
    };
    let d = job.details();
    if d.status == "Completed" {
        return bad(
            "LRSCutoverDatabaseAlreadyRestored",
            format!("'{db}' is already restored."),
        );
    }
    if job.start.autocomplete {
        return bad(
            "ExternalBackupAlreadySignaledToComplete",
            "The job completes by itself (autoCompleteRestore).".into(),
        );
    }
    if d.complete_after.is_some() {
        return bad(
            "LRSCutoverAlreadyInitiated",
            "completeRestore was already called.".into(),
        );
    }
    if d.last_restored.as_deref() != Some(name) {
        return bad(
            "RequiredBackupIsNotLastRestored",
            format!(
                "'{name}' is not the last restored file ({}).",
                d.last_restored.as_deref().unwrap_or("none yet")
            ),
        );
    }
    job.details.lock().complete_after = Some(name.to_owned());
    let id = arm.job_operation(&job);
    arm.save();
    accepted(arm, "managedDatabaseOperationResults", "location", &id)
}
