//! `lrs`: migrates each database to Azure SQL Managed Instance with the Log Replay Service
//! (methods.md §2): the backups land in the database's own flat blob folder (taken TO URL by
//! ferry, read from msdb history, or uploaded from a share), LRS is started through ARM with a
//! Read+List SAS, the restore is monitored through `restoreDetails`, and — in continuous
//! mode — cut over on `ferry cutover`: a tail-log backup, then `completeRestore` once LRS has
//! restored it.
//!
//! Resumable at every step: a restore from external backup already running on the MI is
//! recognised and monitored, never started twice; the plugin never deletes a database.

pub mod config;
mod cutover;
pub mod history;
mod log_backups;
mod monitor;
mod share;
mod start;

use std::time::Duration;

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::{ArmRequest, OperationState, Param, QueryLimits, SqlValue, now_ms};
use serde::{Deserialize, Serialize};

use config::Config;

/// LRS cancels a job after 30 days (methods.md §2.7).
const LRS_MAX_DAYS: u64 = 30;

#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    #[default]
    Start,
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
    pub credential_created: bool,
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
    pub phases: ferry_sdk::Phases,
    /// When ferry's last log backup into the folder started (ms since the Unix epoch).
    #[serde(default)]
    pub last_log_ms: u64,
    /// When the source credential ferry made got its SAS.
    #[serde(default)]
    pub credential_ms: u64,
}

pub struct Lrs;

impl Plugin for Lrs {
    const NAME: &'static str = "lrs";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance with the Log Replay Service, cutover on `ferry cutover`";
    type Config = Config;
    type State = State;

    fn config_schema() -> serde_json::Value {
        config::schema()
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        config.validate()
    }

    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Write,
                "checks the database, reads msdb; runs BACKUP DATABASE/LOG",
            ),
            need(
                CapabilityKind::Azure,
                "mi",
                Access::Write,
                "starts, monitors and completes LRS on the Managed Instance",
            ),
            need(
                CapabilityKind::Storage,
                "backups",
                Access::Write,
                "the container of the backups; signs the Read+List SAS LRS reads with",
            ),
        ]
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => start::start(cx),
            State::BackingUp { job, op } => start::backing_up(cx, job, op),
            State::Uploading { job, op } => share::uploading(cx, job, op),
            State::Starting { job } => start::starting(cx, job),
            State::Monitoring { job } => monitor::monitoring(cx, job),
            State::LogBackup { job, op } => log_backups::log_backup(cx, job, op),
            State::TailLog { job, op } => cutover::tail_log(cx, job, op),
            State::Completing { job, op } => cutover::completing(cx, job, op),
        }
    }

    fn cleanup(cx: &mut Context<'_, Config>, state: State) {
        if let State::BackingUp { job, .. }
        | State::Uploading { job, .. }
        | State::Starting { job }
        | State::Monitoring { job }
        | State::LogBackup { job, .. }
        | State::TailLog { job, .. }
        | State::Completing { job, .. } = state
        {
            drop_credential(cx, &job);
        }
    }
}

ferry_sdk::register!(Lrs);

fn arm(method: &str, path: &str, cfg: &Config, body: Option<serde_json::Value>) -> ArmRequest {
    ArmRequest {
        method: method.into(),
        path: path.into(),
        api_version: cfg.api_version.clone(),
        body: body.map(|b| b.to_string()),
    }
}

/// A GET that may answer 404: the body, or None. A body that is not a JSON object is a
/// broken reply, retried as a transient failure and then reported with the path.
fn arm_get(cx: &mut Context<'_, Config>, path: &str) -> Result<Option<serde_json::Value>> {
    let cfg = cx.config().clone();
    match cx.azure(&cfg.azure, &arm("GET", path, &cfg, None)) {
        Ok(r) => match serde_json::from_str::<serde_json::Value>(&r.body) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            _ => Err(Error::transient(format!(
                "ARM answered GET {} with a body that is not a JSON object ({} bytes)",
                if path.is_empty() {
                    "<the instance>"
                } else {
                    path
                },
                r.body.len()
            ))),
        },
        Err(Error::Failed(f)) if f.code == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Rows of a query on the source with `@db` bound to `db`.
fn query_text(cx: &mut Context<'_, Config>, sql: &str, db: &str) -> Result<Vec<Vec<SqlValue>>> {
    let src = cx.sql(&cx.config().source.clone())?;
    let r = cx.query(
        src,
        sql,
        &[Param::value("db", SqlValue::Text(db.to_owned()))],
        QueryLimits {
            max_rows: 10_000,
            max_bytes: 4 << 20,
        },
    )?;
    Ok(r.into_first_rows())
}

/// A file name made of the database name: letters, digits, `-` and `_` only.
fn safe(db: &str) -> String {
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
fn ended(cx: &mut Context<'_, Config>, op: &str, what: &str) -> Result<bool> {
    match cx.operation(op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => Ok(true),
            OperationState::Failed(f) => {
                Err(Error::failed(format!("{what} failed: {}", f.message)))
            }
            OperationState::Cancelled => Err(Error::failed(format!("{what} was cancelled"))),
            OperationState::Running => Err(Error::transient(format!("{what} is still running"))),
        },
        Err(_) => Ok(false),
    }
}

/// Looks again in `poll_seconds`.
fn wait(cx: &mut Context<'_, Config>, state: State, why: &str) -> Result<Outcome<State>> {
    let secs = u64::from(cx.config().poll_seconds);
    Ok(Outcome::wait_for(Duration::from_secs(secs), state, why))
}

fn drop_credential(cx: &mut Context<'_, Config>, job: &Job) {
    if job.credential_created {
        let source = cx.config().source.clone();
        cx.drop_credential(&source, &job.folder_url);
    }
}
