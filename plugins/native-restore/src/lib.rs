//! `native-restore`: moves each database to Azure SQL Managed Instance with a full backup in
//! blob storage and `RESTORE … FROM URL` (methods.md §4).
//!
//! Per database: check every prerequisite on the source and the MI before changing anything
//! (the source's version and layout, the MI's update policy, tier, storage, databases and
//! files);
//! back the database up to the container (or upload its backups from a share); put a SAS
//! credential on the MI; restore as a host operation; check the database is ONLINE; drop the
//! credentials ferry made. Every phase is resumable: a restore already running or finished on
//! the MI is recognised from `sys.dm_operation_status` and followed, never started twice.
//!
//! # Side effects, and why each is safe to repeat
//!
//! The host journals the state a step call returns; a call cut short by a kill is made again
//! with the state it started from (`cx.attempt() > 1`). So each change below is either found
//! done by the repeated call, or is harmless to make twice. What ferry owns (a credential it
//! will drop) is journaled *before* it is made, never decided after.
//! `host/tests/native_restore_kills.rs` kills `ferry apply` right after each change reached
//! the server and checks the database ends migrated once, with no credential left.
//!
//! | Change (made in state) | Killed right after it, the journal holds | How the repeat converges |
//! |---|---|---|
//! | CREATE CREDENTIAL on the source (`Prepared`) | `Prepared`; `Start` journaled that ferry owns the name | the credential is found by its name and kept; ferry drops it later because ownership was journaled first (one found in `Start` is the user's and never dropped) |
//! | BACKUP DATABASE … TO URL (`Prepared`, an operation) | `Prepared`, or `BackingUp` with an operation the new process does not know | msdb records a backup only once it has finished: a full backup of the database newer than `backup_after` on the first stripe is the job's, and the job goes on. Otherwise the credential is made again if gone and the BACKUP runs again: FORMAT replaces a partial blob, and a BACKUP still running from the killed process makes the new one wait (one data backup of a database at a time, KB 2979636) |
//! | DROP CREDENTIAL on the source after the backup (`BackingUp`) | `BackingUp`, its operation unknown | msdb shows the backup, so no second BACKUP; the drop is made again and a credential already gone is success (15151 for a name sys.credentials no longer lists) |
//! | upload from the share (`Start` / `Uploading`, an operation) | `Start`, or `Uploading` with an unknown operation | the upload runs again to the same blob names; each blob appears whole, when its block list is committed, and is replaced whole |
//! | CREATE CREDENTIAL on the MI (`RestoreDue`) | `RestoreDue`; `ReadyToRestore` journaled that ferry owns the name | as on the source |
//! | RESTORE DATABASE … FROM URL (`RestoreDue`, an operation) | `RestoreDue`, or `Restoring` with an unknown operation | `sys.dm_operation_status` keeps the restore, running or finished, under the target's name (while `sys.databases` may list the database under a GUID until the restore renames it): it is followed, never started again; a database of the name found by a repeated call is verified |
//! | DROP CREDENTIAL on the MI (`Verifying`) | `Verifying` | ONLINE is checked again and the drop made again; one already gone is success |
//! | drops after a failure, and in `cleanup` | the state before the failure | each drop is safe to repeat; a repeated failing call fails the same way. The MI's credential is dropped only once `sys.dm_operation_status` shows no restore of the database running (the MI reads through it for the whole restore); otherwise it is left, with a warning saying so |

mod backup;
pub mod checks;
pub mod config;
mod job;
mod restore;
mod server;

use ferry_sdk::prelude::*;

use config::{Config, Mode};
use job::{Fail, drop_credentials};
pub use job::{Job, State};

pub struct NativeRestore;

impl Plugin for NativeRestore {
    const NAME: &'static str = "native-restore";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance: BACKUP TO URL (or backups on a share), RESTORE FROM URL";
    type Config = Config;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Write,
                "reads the database's shape; creates a credential and runs BACKUP TO URL",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Write,
                "creates a SAS credential and runs RESTORE FROM URL on the Managed Instance",
            ),
            need(
                CapabilityKind::Storage,
                "backups",
                Access::Write,
                "the blob container the backups go through; signs SAS for the credentials",
            ),
        ]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        if config.mode == Mode::Share && config.share.is_none() {
            return Err(Error::invalid_config(
                Some("share"),
                "mode = \"share\" needs `share`, the storage label of the share holding the backups",
            ));
        }
        if !config.folder.contains("{db}") {
            return Ok(vec![Warning {
                key: Some("folder".into()),
                message: "without {db} in `folder`, every database shares one folder".into(),
            }]);
        }
        Ok(vec![])
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        let result = match state {
            State::Start => backup::start(cx),
            State::Prepared { job } => backup::prepared(cx, job),
            State::BackingUp { job, op } => backup::backing_up(cx, job, op),
            State::Uploading { job, op } => backup::uploading(cx, job, op),
            State::ReadyToRestore { job } => restore::ready_to_restore(cx, job),
            State::RestoreDue { job } => restore::restore_due(cx, job),
            State::Restoring { job, op } => restore::restoring(cx, job, op),
            State::Verifying { job } => restore::verifying(cx, job),
        };
        result.map_err(|e| match e {
            Fail::Stop(s) => {
                let db = cx.item().to_owned();
                cx.report(ObjectRow {
                    object_type: "database".into(),
                    name: db,
                    status: ObjectStatus::Failed,
                    reason_code: Some(s.code.to_owned()),
                    notes: Some(s.reason.clone()),
                });
                Error::failed(s.reason)
            }
            Fail::Host(e) => e,
        })
    }

    fn cleanup(cx: &mut Context<'_, Config>, state: State) {
        let job = match state {
            State::Prepared { job }
            | State::BackingUp { job, .. }
            | State::Uploading { job, .. }
            | State::ReadyToRestore { job }
            | State::RestoreDue { job }
            | State::Restoring { job, .. }
            | State::Verifying { job } => job,
            State::Start => return,
        };
        drop_credentials(cx, &job);
    }
}

ferry_sdk::register!(NativeRestore);
