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
}

/// Lost BACKUP connections in a row before the item stops: an outage that keeps cutting the
/// backup is a network problem a person should look at.
pub const MAX_LOST_BACKUPS: u32 = 5;

/// A file name made of the database name: letters, digits, `-` and `_` only.
pub fn file_stem(db: &str) -> String {
    db.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

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
