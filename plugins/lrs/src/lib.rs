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
//! # Side effects, and why each is safe to repeat
//!
//! The host journals the state a step call returns; a call cut short by a kill is made again
//! with the state it started from (`cx.attempt() > 1`). So each change below is either found
//! done by the repeated call, or is harmless to make twice. The source credential ferry will
//! drop is journaled as ferry's *before* it is made. `host/tests/lrs_kills.rs` kills `ferry
//! apply` right after each change reached its server and checks the database ends migrated
//! once: LRS started once, the tail taken once, no credential left.
//!
//! | Change (made in state) | Killed right after it, the journal holds | How the repeat converges |
//! |---|---|---|
//! | CREATE CREDENTIAL on the source (`Prepared`) | `Prepared`; `Start` journaled that ferry owns the name | found by its name and kept; ferry drops it at the end because ownership was journaled first (one found in `Start` is the user's and never dropped) |
//! | full (striped, COPY_ONLY unless no full has started a log chain) and first log backup into the folder (`Prepared`, an operation) | `Prepared`, or `BackingUp` with an operation the new process does not know | msdb records a backup only once it has finished: both found above `tail_after` at their URLs (the full by its first stripe), LRS is started. Otherwise the credential is made again if gone and both are taken again: FORMAT replaces the blobs with a pair that chains the same way, and a backup still running from the killed process makes the new one wait (one data backup of a database at a time, KB 2979636) |
//! | CREATE CREDENTIAL on the MI for the read check, with a `target` label (`Starting`) | `Starting`; the call before journaled that ferry owns the name (`StorageCheck::Owned`) | made again if gone, the RESTORE HEADERONLY (a read) made again, then dropped; `cleanup` drops it too; one already gone is success |
//! | DROP CREDENTIAL on the MI after the check (`Starting`) | `Starting` with `StorageCheck::Owned` | the check is made again (credential, read, drop): each step is safe to repeat |
//! | upload from the share (`Start`, `Monitoring`, cutover; an operation) | that state, or `Uploading` with an unknown operation | the chain's files the folder lacks, or holds at another size, are uploaded again; a blob appears whole, when its block list is committed |
//! | PUT `databases/{target}`, starting LRS: a long-running operation the host sends and follows (`Starting`) | `Starting`, with or without the start's operation, which the new process does not know | the repeated call finds the database ARM lists and monitors the job: no second PUT (LRS would refuse it, `ManagedDatabaseNameInUse`). No database listed and the operation unknown: the PUT never left, and is sent |
//! | DROP and CREATE of the source credential, renewing its SAS (`Monitoring`, before a log backup or the tail) | `Monitoring` | made again when the drop left none; a drop of one already gone is success (15151 for a name sys.credentials no longer lists) |
//! | a periodic BACKUP LOG (`Monitoring`, an operation) | `Monitoring`, or `LogBackup` with an unknown operation | each has its own name (its time in ms): a second one continues the chain where the first ended and never replaces a file LRS may have restored |
//! | the tail-log BACKUP LOG (`Monitoring` at cutover, an operation) | `Monitoring`, or `TailLog` with an unknown operation | msdb records the tail once it has finished: found, the restore completes with it. While a BACKUP LOG of the database still runs (`sys.dm_exec_requests`) ferry waits rather than take a second tail beside it; a source left RESTORING with no tail in msdb stops with what to do |
//! | POST `completeRestore` (`Completing`; the host sends it after the call returns) | `Completing` with an unknown operation | not marked sent until LRS says so: the repeat reads the database's status (Online: finish) or posts again, and LRS answers one already received with `LRSCutoverAlreadyInitiated` or `LRSCutoverDatabaseAlreadyRestored` |
//! | DROP CREDENTIAL on the source at the end (`Completing`) | `Completing` | the database is Online again; the drop made again finds it gone, which is success |
//! | the drop in `cleanup` | the failed state | safe to repeat |
//!
//! # Modules
//!
//! Every import points down this picture. Phases import each other only along its arrows:
//! monitor hands over to log_backups and cutover and reads the start's operation through
//! launch (the PUT that starts LRS), and share (uploading from a share) is the step start,
//! monitor and cutover call into; share imports no phase. Nothing below the line imports a
//! phase.
//!
//! ```text
//!             lib (the Plugin: hands each State to its phase)
//!              │
//! phases      start  launch ←── monitor ──→ log_backups
//!               │      │         │   └────→ cutover
//!               │      │         │            │
//!               └──────┼─────────┴──→ share ←─┘
//! ─────────────────────┼───────────────────────────────────────────────
//! shared      source (msdb, credentials)   mi (ARM)   target (the MI over T-SQL)
//!               └──────────────┬──────────────┴──────────┘
//!                    job (State, Job, wait, ended)
//!                              │
//! data        config   history (the chain from msdb rows)   details (restoreDetails)
//!             preflight (what is refused before LRS starts)
//! ```

pub mod config;
mod cutover;
mod details;
pub mod history;
mod job;
mod launch;
mod log_backups;
mod mi;
mod monitor;
mod preflight;
mod share;
mod source;
mod start;
mod target;

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
            State::Prepared { job } => start::prepared(cx, job),
            State::BackingUp { job, op } => start::backing_up(cx, job, op),
            State::Uploading { job, op } => share::uploading(cx, job, op),
            State::Starting { job } => launch::starting(cx, job),
            State::Monitoring { job } => monitor::monitoring(cx, job),
            State::LogBackup { job, op } => log_backups::log_backup(cx, job, op),
            State::TailLog { job, op } => cutover::tail_log(cx, job, op),
            State::TailUnsure { job } => cutover::tail_unsure(cx, job),
            State::Completing { job, op } => cutover::completing(cx, job, op),
        }
    }

    fn cleanup(cx: &mut Context<'_, Config>, state: State) {
        if let State::Prepared { job }
        | State::BackingUp { job, .. }
        | State::Uploading { job, .. }
        | State::Starting { job }
        | State::Monitoring { job }
        | State::LogBackup { job, .. }
        | State::TailLog { job, .. }
        | State::TailUnsure { job }
        | State::Completing { job, .. } = state
        {
            source::drop_credential_best_effort(cx, &job);
            target::drop_check_credential(cx, &job);
        }
    }
}

ferry_sdk::register!(Lrs);
