//! `lrs`: migrates each database to Azure SQL Managed Instance with the Log Replay Service
//! (methods.md §2): the backups land in the database's own flat blob folder (taken TO URL by
//! ferry, read from msdb history, or uploaded from a share), LRS is started through ARM with a
//! Read+List SAS, the restore is monitored through `restoreDetails`, and — in continuous
//! mode — cut over on `ferry cutover`: a tail-log backup, then `completeRestore` once LRS has
//! restored it.
//!
//! Resumable at every step: a restore from external backup already running on the MI is
//! recognised and monitored, never started twice; the plugin never deletes a database.
//!
//! # Modules
//!
//! Every import points down this picture. Phases import each other only along its arrows:
//! monitor hands over to log_backups and cutover, and share (uploading from a share) is the
//! step start, monitor and cutover call into; share imports no phase. Nothing below the line
//! imports a phase.
//!
//! ```text
//!             lib (the Plugin: hands each State to its phase)
//!              │
//! phases      start    monitor ──→ log_backups
//!               │       │   └────→ cutover
//!               │       │            │
//!               └───────┴──→ share ←─┘
//! ─────────────────────────────────────────────────────────────
//! shared      source (msdb, credentials)   mi (ARM, restoreDetails)
//!               └──────────────┬─────────────┘
//!                    job (State, Job, wait, ended)
//!                              │
//! data        config     history (the chain from msdb rows)
//! ```

pub mod config;
mod cutover;
pub mod history;
mod job;
mod log_backups;
mod mi;
mod monitor;
mod share;
mod source;
mod start;

use ferry_sdk::prelude::*;

use config::Config;
pub use job::{Job, State};

pub struct Lrs;

impl Plugin for Lrs {
    const NAME: &'static str = "lrs";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance with the Log Replay Service, cutover on `ferry cutover`";
    type Config = Config;
    type State = State;

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
            source::drop_credential(cx, &job);
        }
    }
}

ferry_sdk::register!(Lrs);
