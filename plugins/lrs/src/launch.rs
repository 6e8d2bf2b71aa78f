//! The PUT that starts LRS (`createMode: RestoreExternalBackup`, methods.md §2.4), after the
//! MI's read check. The PUT is a long-running operation: ARM answers 201/202 with
//! `Azure-AsyncOperation` or `Location`, and a start that fails after that answer is reported
//! through the operation (`ManagedDatabases.json`). The host follows it as a host operation;
//! the plugin reads it on every look while LRS runs.

use std::time::Duration;

use ferry_sdk::arm_errors::arm_code;
use ferry_sdk::prelude::*;
use ferry_sdk::{OperationState, blob_names};

use crate::config::{Config, Mode, StorageIdentity};
use crate::job::{Job, State};
use crate::mi::{self, arm};
use crate::target;

/// How soon an accepted start is looked at again while ARM has not listed its database yet.
const ACCEPTED_POLL: Duration = Duration::from_secs(1);

pub fn starting(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    if job.start_op.is_some() {
        return accepted(cx, job);
    }
    // A call cut short after its PUT reached ARM is made again: LRS runs already (a second
    // PUT would be refused with ManagedDatabaseNameInUse), so it is monitored.
    if cx.attempt() > 1 && exists(cx, &job)? {
        return Ok(resumed(cx, job));
    }
    if let Some(next) = target::check_storage(cx, &mut job)? {
        return Ok(next);
    }
    let cfg = cx.config().clone();
    let mut props = serde_json::json!({
        "createMode": "RestoreExternalBackup",
        "collation": collation(cx)?,
        "storageContainerUri": job.folder_url,
        "autoCompleteRestore": cfg.mode == Mode::Autocomplete,
    });
    if cfg.mode == Mode::Autocomplete {
        // URL-encoded as the LRS guide asks (`%20` for a space, `%25` for `%`).
        props["lastBackupName"] = blob_names::encode_segment(&job.last_file).into();
    }
    let sas = match cfg.storage_identity {
        StorageIdentity::ManagedIdentity => {
            props["storageContainerIdentity"] = "ManagedIdentity".into();
            None
        }
        StorageIdentity::Sas => {
            props["storageContainerIdentity"] = "SharedAccessSignature".into();
            props["storageContainerSasToken"] = "{{sas}}".into();
            Some(target::read_sas(cx, cfg.sas_minutes)?)
        }
    };
    let body = serde_json::json!({ "location": job.location, "properties": props });
    let put = arm(
        "PUT",
        &format!("databases/{}", job.target),
        &cfg,
        Some(body),
    );
    let op = match sas {
        Some(sas) => cx.azure_begin_sealed(&cfg.azure, &put, &[("sas", sas)]),
        None => cx.azure_begin(&cfg.azure, &put),
    }
    .map_err(|e| refused(&cfg, &job.target, e))?;
    if cx.planning() {
        return Ok(Outcome::Done(
            serde_json::json!({ "method": "lrs", "planned": true }),
        ));
    }
    job.start_op = Some(op);
    Ok(Outcome::Next(State::Starting { job }))
}

/// The database's collation on the source: LRS requires one in the start.
fn collation(cx: &mut Context<'_, Config>) -> Result<String> {
    let db = cx.item().to_owned();
    let rows = crate::source::query_text(
        cx,
        "SELECT collation_name FROM sys.databases WHERE name = @db",
        &db,
    )?;
    Ok(rows
        .first()
        .map(|r| ferry_sdk::sql_value::text(r.first()))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "SQL_Latin1_General_CP1_CI_AS".into()))
}

/// Whether ARM lists the target database: LRS has taken the start.
fn exists(cx: &mut Context<'_, Config>, job: &Job) -> Result<bool> {
    Ok(mi::database_status(cx, &job.target)?.is_some())
}

/// The start was sent: monitored once ARM lists the database. Its operation unknown (ferry
/// restarted) and no database listed, the PUT may never have left: it is sent again.
fn accepted(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let running = follow(cx, &mut job)?;
    if exists(cx, &job)? {
        return Ok(started(cx, job));
    }
    Ok(if running {
        Outcome::wait_for(
            ACCEPTED_POLL,
            State::Starting { job },
            "ARM accepted the LRS start",
        )
    } else {
        Outcome::Next(State::Starting { job })
    })
}

/// Reads the start's operation, if this run has it: true while it runs; false once it is over
/// or unknown (then `job.start_op` is cleared). A failure the operation reports as its
/// outcome ends the item; a start ARM refused outright (no database listed) too. Any other
/// failure of the following (a lost connection, an unknown operation after ARM restarted) is
/// not the job's: the job is monitored through `restoreDetails` alone.
pub fn follow(cx: &mut Context<'_, Config>, job: &mut Job) -> Result<bool> {
    let Some(op) = job.start_op.clone() else {
        return Ok(false);
    };
    let state = match cx.operation(&op) {
        Ok(s) => s.state,
        Err(_) => {
            cx.info(&format!(
                "LRS was started for [{}] before ferry stopped; monitoring it",
                job.target
            ));
            job.start_op = None;
            return Ok(false);
        }
    };
    match state {
        OperationState::Running => Ok(true),
        OperationState::Succeeded => {
            job.start_op = None;
            Ok(false)
        }
        OperationState::Cancelled => Err(Error::failed(format!(
            "the start of LRS for [{}] was cancelled; run `ferry apply --retry-failed` to start \
             it again",
            job.target
        ))),
        OperationState::Failed(f) => {
            // No database left: LRS never started (a SAS or storage it cannot use is reported
            // here, after ARM accepted the PUT).
            if !exists(cx, job)? {
                let cfg = cx.config().clone();
                return Err(refused(&cfg, &job.target, Error::Failed(f)));
            }
            // The operation's own outcome (status Failed, with ARM's code): LRS failed.
            if f.code.is_none() && arm_code(&f.message).is_some() {
                return Err(mi::stopped(&job.target, &f.message));
            }
            cx.debug(&format!(
                "following the LRS start stopped ({}); monitoring restoreDetails",
                f.message
            ));
            job.start_op = None;
            Ok(false)
        }
    }
}

fn started(cx: &mut Context<'_, Config>, mut job: Job) -> Outcome<State> {
    job.lrs_started = true;
    job.phases.begin("restoring");
    cx.phase("restoring", Some(0.0), Some("LRS started"));
    Outcome::Next(State::Monitoring { job })
}

fn resumed(cx: &mut Context<'_, Config>, job: Job) -> Outcome<State> {
    cx.info(&format!(
        "LRS was started for [{}] before ferry stopped; monitoring it",
        job.target
    ));
    started(cx, job)
}

/// LRS's refusal to start, with what to change where the code says what it is.
fn refused(cfg: &Config, target: &str, e: Error) -> Error {
    let Error::Failed(f) = e else { return e };
    let hint = match arm_code(&f.message) {
        // Azure documents no narrower code for a SAS LRS cannot use (extra permissions, a
        // stored access policy, the wrong scope): it fails the start with this one.
        Some("StorageBrokenIssueDetectedAtTheStart") => match &cfg.sas_secret {
            Some(label) => format!(
                "; the SAS in secret `{label}` must be for the container, unexpired, and grant \
                 Read and List only (sp=rl, not from a stored access policy): make a new one, \
                 or drop `sas_secret` to let ferry sign it"
            ),
            None => "; check that the container exists and that the MI can reach the storage \
                     account (firewall, private endpoint)"
                .into(),
        },
        _ if f.message.contains("SasToken") => match &cfg.sas_secret {
            Some(label) => format!(
                "; the SAS in secret `{label}` must be for the container and grant Read and \
                 List only (sp=rl): make a new one, or drop `sas_secret` to let ferry sign it"
            ),
            None => "; ferry signs a Read+List SAS from the storage label's account key".into(),
        },
        Some("DatabaseNumberLimitReached") => {
            "; the instance holds its maximum number of databases: make room first".into()
        }
        Some("NoMoreSpaceInManagedInstance" | "StorageAccountFull") => {
            "; the instance's storage is full: raise it first".into()
        }
        _ => String::new(),
    };
    Error::Failed(ferry_sdk::Failure {
        message: format!(
            "LRS refused to start for [{target}]: {}{hint}",
            f.message.trim_end_matches('.')
        ),
        code: f.code,
    })
}
