//! What every phase works on: the [`State`] journaled between step calls, the [`Job`] it
//! carries, and the two ways a phase waits (a poll, an operation's end).

use std::time::Duration;

use ferry_sdk::prelude::*;
use ferry_sdk::{OperationState, Phases};
use serde::{Deserialize, Serialize};

use crate::config::Config;

#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    #[default]
    Start,
    /// Checked, and whether ferry owns the source credential is journaled: the credential is
    /// made if ferry owns it and it is missing, then the first backups start (or, with
    /// `backups_from = "history"`, LRS does).
    Prepared { job: Job },
    /// The full and first log backup run on the source as operation `op`.
    BackingUp { job: Job, op: String },
    /// Backups from the share are uploaded as operation `op`; then LRS is started, monitored
    /// or completed, as far as the job has got.
    Uploading { job: Job, op: String },
    /// Backups are in the folder; LRS is started next.
    Starting { job: Job },
    /// LRS runs; the plugin watches `restoreDetails`.
    Monitoring { job: Job },
    /// A periodic log backup into the folder runs as `op` (`backups_from = "ferry"`).
    LogBackup { job: Job, op: String },
    /// Cutover: the tail-log backup runs as `op`.
    TailLog { job: Job, op: String },
    /// Cutover: the connection of the tail-log backup was lost before SQL Server answered, so
    /// whether it was taken is read from msdb (and the source) after a pause.
    TailUnsure { job: Job },
    /// Cutover: waiting for LRS to restore the tail, then `completeRestore` as `op`.
    Completing { job: Job, op: Option<String> },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Job {
    pub target: String,
    /// The folder URL LRS reads, and the source credential's name.
    pub folder_url: String,
    /// The last file the chain holds (the first log, then the tail).
    pub last_file: String,
    /// ferry makes (or made) the source credential named `folder_url` and drops it at the end:
    /// journaled before it is made, so a call cut short after making it still knows.
    #[serde(alias = "credential_created")]
    pub credential_owned: bool,
    pub started_ms: u64,
    pub warned: bool,
    /// `completeRestore` was sent; from then on the plugin only waits for the outcome.
    #[serde(default)]
    pub completion_requested: bool,
    /// The PUT that starts LRS was accepted.
    #[serde(default)]
    pub lrs_started: bool,
    /// Cutover began: the tail-log backup is taken or being taken.
    #[serde(default)]
    pub cutover: bool,
    /// msdb's highest `backup_set_id` when the job began: a set above it written to the
    /// tail's device is this job's tail-log backup, found again after a restart.
    #[serde(default)]
    pub tail_after: i64,
    /// The last warning about the chain on the share, so each is given once.
    #[serde(default)]
    pub chain_warning: Option<String>,
    /// backup / upload, restoring, cutover: what the report shows, and how long the cutover
    /// (the downtime) took.
    #[serde(default)]
    pub phases: Phases,
    /// When ferry's last log backup into the folder started (ms since the Unix epoch).
    #[serde(default)]
    pub last_log_ms: u64,
    /// When the source credential ferry made got its SAS.
    #[serde(default)]
    pub credential_ms: u64,
    /// First backups whose connection was lost before SQL Server answered: each is looked
    /// for in msdb and taken again if it did not finish, up to [`MAX_LOST_BACKUPS`].
    #[serde(default)]
    pub lost_backups: u32,
    /// The MI's region, for the PUT that starts LRS.
    #[serde(default)]
    pub location: String,
    /// With `backups_from = "ferry"`: the URLs of the full backup's stripes.
    #[serde(default)]
    pub full_urls: Vec<String>,
    /// The full is COPY_ONLY (the database's own differential base stays); false only when no
    /// full that starts a log chain exists yet.
    #[serde(default)]
    pub full_copy_only: bool,
    /// The source's edition can compress backups.
    #[serde(default)]
    pub compress: bool,
    /// The URLs of the first backup set LRS restores, for the MI's read check.
    #[serde(default)]
    pub first_set: Vec<String>,
    /// The host operation following the PUT that started LRS: a long-running operation that
    /// reports an asynchronous start failure, and ends with the job.
    #[serde(default)]
    pub start_op: Option<String>,
    /// Where the MI's storage read check (with a `target` label) stands.
    #[serde(default)]
    pub storage_check: StorageCheck,
    /// The last `blockReason` warned about, so each is said once.
    #[serde(default)]
    pub block_warned: Option<String>,
}

/// The check that the MI reads the folder (`RESTORE HEADERONLY` through a credential, as the
/// LRS guide's "Validate MI storage access" does), before LRS starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageCheck {
    /// Not done; whether ferry owns the credential is decided next.
    #[default]
    Due,
    /// ferry makes (or made) the MI credential for the folder and drops it: journaled before it
    /// is made.
    Owned,
    /// A credential of that name is already on the MI; the check reads through it.
    NotOwned,
    /// Done, or not wanted (no `target` label, or the MI reads with its own identity).
    Done,
}

/// Lost BACKUP connections in a row before the item stops: an outage that keeps cutting the
/// backup is a network problem a person should look at.
pub const MAX_LOST_BACKUPS: u32 = 5;

/// Whether `f` is a backup whose connection was lost before SQL Server answered (no error
/// number), with lost connections to spare: whether it was taken is then read from msdb.
pub fn backup_lost(f: &ferry_sdk::Failure, job: &Job) -> bool {
    f.code.is_none() && job.lost_backups < MAX_LOST_BACKUPS
}

/// After a lost backup connection: a pause (4 s doubling to 32 s), then `next` looks in msdb.
pub fn look_in_msdb(mut job: Job, why: &str, next: fn(Job) -> State) -> Outcome<State> {
    job.lost_backups += 1;
    let pause = Duration::from_secs(2u64 << job.lost_backups.min(4));
    Outcome::wait_for(pause, next(job), format!("{why}; looking in msdb"))
}

pub use ferry_sdk::striping::file_stem;

/// What an operation ended as: Ok(true) succeeded, Ok(false) unknown (ferry restarted).
pub fn ended(cx: &mut Context<'_, Config>, op: &str, what: &str) -> Result<bool> {
    match cx.operation(op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => Ok(true),
            OperationState::Failed(f) => Err(Error::Failed(ferry_sdk::Failure {
                message: format!("{what} failed: {}", f.message),
                code: f.code,
            })),
            OperationState::Cancelled => Err(Error::failed(format!(
                "{what} was cancelled; run `ferry apply --retry-failed` to do it again"
            ))),
            OperationState::Running => Err(Error::transient(format!("{what} is still running"))),
        },
        Err(_) => Ok(false),
    }
}

/// Looks again in `poll_seconds`.
pub fn wait(cx: &mut Context<'_, Config>, state: State, why: &str) -> Result<Outcome<State>> {
    let secs = u64::from(cx.config().poll_seconds);
    Ok(Outcome::wait_for(Duration::from_secs(secs), state, why))
}
