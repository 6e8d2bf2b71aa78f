//! Cutover (methods.md §2.6): the tail-log backup into the folder (through the share when the
//! backups come from one), LRS restoring it, `completeRestore` with its name, the database
//! online. Every step is found again after a restart, never done twice.

use ferry_sdk::arm_errors::arm_code;
use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::text;
use ferry_sdk::striping::{self, Backup, Device};
use ferry_sdk::{Failure, blob_names};

use crate::config::{BackupsFrom, Config, TailLog};
use crate::history::{self, Folder};
use crate::job::{Job, State, backup_lost, ended, file_stem, look_in_msdb, wait};
use crate::mi::{self, Look, arm};
use crate::preflight::backup_name_refusal;
use crate::share;
use crate::source::{
    backup_failure, backup_recorded, drop_credential, history_rows, log_backup_running, query_text,
    source_credential,
};

/// Starts the cutover with the tail-log backup, unless msdb shows it taken already (by a call
/// cut short before ferry recorded it).
pub fn begin(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    // A log backup a killed ferry left running (its last periodic one, or a tail a call cut
    // short started) ends first: msdb then shows it, and no tail is taken beside it.
    let db = cx.item().to_owned();
    if log_backup_running(cx, &db)? {
        return wait(
            cx,
            State::Monitoring { job },
            "a log backup still runs on the source",
        );
    }
    job.cutover = true;
    job.phases.begin("cutover");
    if cx.config().tail_log == TailLog::None {
        return last_backup_is_yours(cx, job);
    }
    job.last_file = format!("{}_tail.trn", file_stem(cx.item()));
    // The tail gets its own allowance of lost connections, whatever the first backups used.
    job.lost_backups = 0;
    if tail_in_msdb(cx, &job)? {
        return tail_taken(cx, job);
    }
    take_tail(cx, job)
}

/// `tail_log = "none"`: the operator took the final log backup; the chain msdb shows ends
/// with it, and the restore completes with its name once LRS has restored it.
fn last_backup_is_yours(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let (chain, folders) = if cfg.backups_from == BackupsFrom::Share {
        let (chain, folders) = share::chain(cx, &db)?;
        (chain, Some(folders))
    } else {
        let rows = history_rows(cx, &db)?;
        let chain = history::chain(&rows, Folder::Blob(&job.folder_url))
            .map_err(|why| Error::failed(format!("[{db}] at cutover: {why}")))?;
        (chain, None)
    };
    let Some(last) = chain.files.last() else {
        return Err(Error::failed(format!(
            "[{db}]: msdb shows no backup chain to complete with; take the final log backup \
             into the folder (or onto the share), then run `ferry apply --retry-failed` and `ferry \
             cutover` (the running LRS job is picked up, not restarted)"
        )));
    };
    job.last_file = blob_names::file_name(last);
    if let Some(why) = backup_name_refusal(&job.last_file) {
        return Err(Error::failed(format!("[{db}] at cutover: {why}")));
    }
    cx.info(&format!(
        "cutover with your last log backup, {} (tail_log = \"none\")",
        job.last_file
    ));
    match folders {
        Some(folders) => share::upload_new(cx, job, &chain.files, &folders),
        None => Ok(Outcome::Next(State::Completing { job, op: None })),
    }
}

/// Where the tail-log backup goes: the blob folder, or the database's folder on the share as
/// the source sees it.
fn tail_device(cfg: &Config, job: &Job, db: &str) -> (&'static str, String) {
    match (&cfg.backups_from, &cfg.source_share_path) {
        (BackupsFrom::Share, Some(root)) => {
            let sep = if root.contains('\\') { '\\' } else { '/' };
            let folder = cfg.folder_for(db).replace('/', &sep.to_string());
            let root = root.trim_end_matches(['/', '\\']);
            ("DISK", format!("{root}{sep}{folder}{sep}{}", job.last_file))
        }
        _ => ("URL", format!("{}/{}", job.folder_url, job.last_file)),
    }
}

fn take_tail(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let src = cx.sql(&cfg.source)?;
    let (kind, device) = tail_device(&cfg, &job, &db);
    if kind == "URL" && job.credential_owned {
        // The SAS in the credential ferry made may have expired during a long migration.
        source_credential(cx, &job.folder_url, true)?;
    }
    let urls = [device.clone()];
    let to = match kind {
        "URL" => Device::Url(&urls),
        _ => Device::Disk(&device),
    };
    let what = Backup::Log {
        norecovery: cfg.tail_log == TailLog::Norecovery,
    };
    let statement = striping::backup_statement(&db, what, to, job.compress);
    let op = cx.start_statement(src, &statement, &[], &format!("tail-log backup of [{db}]"))?;
    cx.phase("cutover", None, Some("tail-log backup"));
    Ok(Outcome::wait_operation(
        op.clone(),
        State::TailLog { job, op },
        "taking the tail-log backup",
    ))
}

pub fn tail_log(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    // msdb is asked whatever the operation says: a backup whose connection dropped (or whose
    // ferry was killed) may well have finished on the server.
    let ended = ended(cx, &op, "the tail-log backup");
    if matches!(ended, Ok(true)) || tail_in_msdb(cx, &job)? {
        return tail_taken(cx, job);
    }
    match ended {
        // No error number: SQL Server never answered (the connection was lost), so the backup
        // may or may not have been taken: msdb tells, after a pause.
        Err(Error::Failed(f)) if backup_lost(&f, &job) => {
            Ok(look_in_msdb(job, &f.message, |job| State::TailUnsure {
                job,
            }))
        }
        Err(e) => Err(backup_failure(cx, &job, e)),
        // ferry stopped before the backup finished (msdb was asked above).
        Ok(_) => tail_not_recorded(cx, job),
    }
}

/// Whether the tail-log backup was taken is not known (ferry stopped, or its connection was
/// lost): msdb and the source say. While one still runs on the source it is waited for, never
/// taken a second time beside it; taken, cutover goes on; neither, it is taken again.
pub fn tail_unsure(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
    if tail_in_msdb(cx, &job)? {
        return tail_taken(cx, job);
    }
    tail_not_recorded(cx, job)
}

/// msdb has no record of the tail-log backup: one still running is waited for; none, it is
/// taken again while the source is ONLINE.
fn tail_not_recorded(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    if log_backup_running(cx, &db)? {
        return wait(
            cx,
            State::TailUnsure { job },
            "the tail-log backup still runs on the source",
        );
    }
    // It ended and msdb has no record of it. With NORECOVERY a finished tail would have left
    // the source RESTORING: if it is, something else happened there and a person has to look.
    let state = query_text(
        cx,
        "SELECT state_desc FROM sys.databases WHERE name = @db",
        &db,
    )?
    .first()
    .map(|r| text(r.first()))
    .unwrap_or_default();
    if !state.eq_ignore_ascii_case("ONLINE") {
        let (_, device) = tail_device(&cfg, &job, &db);
        return Err(Error::failed(format!(
            "[{db}] is {state} on the source, but msdb has no tail-log backup at {device}: \
             find the last log backup taken and put it in the folder, then set tail_log = \
             \"none\" and run `ferry apply --retry-failed` and `ferry cutover` (the running LRS job \
             is picked up, not restarted)"
        )));
    }
    cx.info(
        "the tail-log backup was not taken (ferry stopped or lost its connection); taking it again",
    );
    take_tail(cx, job)
}

/// msdb records the tail-log backup once it has finished: a log backup newer than the
/// cutover's start, written to the tail's device.
fn tail_in_msdb(cx: &mut Context<'_, Config>, job: &Job) -> Result<bool> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let (_, device) = tail_device(&cfg, job, &db);
    backup_recorded(cx, &db, job.tail_after, "L", &device)
}

fn tail_taken(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    if cfg.backups_from == BackupsFrom::Share {
        let file = format!("{}/{}", cfg.folder_for(cx.item()), job.last_file);
        let db = cx.item().to_owned();
        let folders = share::Folders::look(cx, &db)?;
        return share::upload_new(cx, job, &[file], &folders);
    }
    Ok(Outcome::Next(State::Completing { job, op: None }))
}

/// Codes with which LRS says `completeRestore` was already sent (by a call ferry made before
/// it restarted).
const ALREADY_COMPLETING: [&str; 2] = [
    "LRSCutoverAlreadyInitiated",
    "ExternalBackupAlreadySignaledToComplete",
];

/// ARM's code in a failed `completeRestore`, whether the POST was refused or its operation
/// failed.
fn code_of(e: &Error) -> Option<&str> {
    match e {
        Error::Failed(Failure { message, .. }) => arm_code(message),
        _ => None,
    }
}

fn already_completing(e: &Error) -> bool {
    code_of(e).is_some_and(|c| ALREADY_COMPLETING.contains(&c))
}

/// Codes after which `completeRestore` is sent again later: LRS has not restored the last file
/// yet, or the instance is being upgraded (`ManagedDatabases.json`).
const NOT_YET: [&str; 2] = [
    "RequiredBackupIsNotLastRestored",
    "ExternalBackupUpgradeInProgress",
];

/// `completeRestore` was sent: only the outcome is awaited.
fn awaiting_completion(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    job.completion_requested = true;
    wait(
        cx,
        State::Completing { job, op: None },
        "the restore completes",
    )
}

pub fn completing(
    cx: &mut Context<'_, Config>,
    job: Job,
    op: Option<String>,
) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    if let Some(id) = &op {
        match ended(cx, id, "completeRestore") {
            Ok(true) => return finish(cx, job),
            // The POST this call sent found the restore completed by the one a killed ferry
            // had sent (its database still showed Restoring when this run looked).
            Err(e) if code_of(&e) == Some("LRSCutoverDatabaseAlreadyRestored") => {
                return finish(cx, job);
            }
            Err(e) if already_completing(&e) => return awaiting_completion(cx, job),
            Err(e) if code_of(&e).is_some_and(|c| NOT_YET.contains(&c)) => {
                return wait(
                    cx,
                    State::Completing { job, op: None },
                    "LRS is not ready to complete",
                );
            }
            Err(e) => return Err(e),
            Ok(false) => {}
        }
    }
    let status = mi::database_status(cx, &job.target)?;
    if status.as_deref() == Some("Online") {
        return finish(cx, job);
    }
    let d = match mi::look(cx, &job)? {
        Look::Running(d) => d,
        Look::Passing(_) => {
            return wait(
                cx,
                State::Completing { job, op: None },
                "LRS retries by itself",
            );
        }
        Look::Gone if status.is_some() => {
            return wait(
                cx,
                State::Completing { job, op: None },
                "the restore completes",
            );
        }
        Look::Gone => return Err(mi::gone(&job.target)),
    };
    if job.completion_requested {
        return awaiting_completion(cx, job);
    }
    if d.unrestorable(&job.last_file) {
        return Err(Error::failed(format!(
            "LRS cannot restore {} (it lists it among unrestorable files): check the file in \
             the folder, take a new log backup there, and complete with its name \
             (tail_log = \"none\")",
            job.last_file
        )));
    }
    if !d.last_restored_is(&job.last_file) {
        cx.phase(
            "cutover",
            None,
            Some(&format!(
                "waiting for LRS to restore {}: {}",
                job.last_file,
                d.progress_line()
            )),
        );
        return wait(
            cx,
            State::Completing { job, op: None },
            "LRS restores the tail-log backup",
        );
    }
    // URL-encoded as the LRS guide asks of lastBackupName.
    let body = serde_json::json!({ "lastBackupName": blob_names::encode_segment(&job.last_file) });
    let request = arm(
        "POST",
        &format!("databases/{}/completeRestore", job.target),
        &cfg,
        Some(body),
    );
    let id = match cx.azure_begin(&cfg.azure, &request) {
        Ok(id) => id,
        // A call ferry made before it restarted completed the restore already.
        Err(e) if code_of(&e) == Some("LRSCutoverDatabaseAlreadyRestored") => {
            return finish(cx, job);
        }
        Err(e) if already_completing(&e) => return awaiting_completion(cx, job),
        Err(e) => return Err(e),
    };
    cx.phase("cutover", None, Some("completing the restore"));
    // Not marked requested yet: the host sends the POST after this call returns, so a kill
    // may stop it before it leaves. A repeat after a restart sends it again, and LRS answers
    // one already received with LRSCutoverAlreadyInitiated.
    Ok(Outcome::wait_operation(
        id.clone(),
        State::Completing { job, op: Some(id) },
        "completing the restore",
    ))
}

pub fn finish(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let status = mi::database_status(cx, &job.target)?.unwrap_or_default();
    if status != "Online" {
        return wait(
            cx,
            State::Completing { job, op: None },
            "waiting for the database to come online",
        );
    }
    drop_credential(cx, &job)?;
    job.phases.end();
    let cutover_ms = job.phases.ms("cutover");
    let db = cx.item().to_owned();
    cx.phase("done", Some(1.0), Some("Online"));
    cx.report(ObjectRow {
        object_type: "database".into(),
        name: db.clone(),
        status: ObjectStatus::Migrated,
        reason_code: None,
        notes: Some(if job.cutover {
            format!(
                "{db} → [{}] on the MI with LRS, last file {}, cutover took {:.1} s",
                job.target,
                job.last_file,
                cutover_ms as f64 / 1000.0
            )
        } else {
            format!(
                "{db} → [{}] on the MI with LRS, last file {}",
                job.target, job.last_file
            )
        }),
    });
    Ok(Outcome::Done(serde_json::json!({
        "method": "lrs",
        "database": db,
        "target": job.target,
        "last_file": job.last_file,
        "phases": job.phases.to_output(),
        "cutover_ms": job.cutover.then_some(cutover_ms),
    })))
}
