//! `dms`: migrates each database to Azure SQL Managed Instance through Azure Database Migration
//! Service (methods.md §3; "Migrate SQL Server to Azure SQL Managed Instance online/offline"
//! with the Azure SQL migration extension, the portal and `az datamigration`,
//! learn.microsoft.com; `Microsoft.DataMigration` sqlmigration.json in azure-rest-api-specs).
//!
//! Per database (one work item each): a migration DMS already runs for it is adopted; every
//! precondition judged before anything starts; the `sqlMigrationServices` resource read or
//! created and, for a share, its self-hosted integration runtime awaited Online; the
//! `databaseMigrations` PUT with every secret sealed; the migration followed file by file;
//! cutover on `ferry cutover` (or `cutover_after`) once every file is Restored and no log is
//! pending; cancel on the `cancel` signal, only for a migration this run started.
//!
//! # Side effects, and why each is safe to repeat
//!
//! The host journals the state a step call returns; a call cut short by a kill is made again
//! with the state it started from.
//!
//! | Change (made in state) | Killed right after it, the journal holds | How the repeat converges |
//! |---|---|---|
//! | PUT `sqlMigrationServices/{name}` (`Service`) | `Service` with or without its operation | GET finds the service: not created again; the PUT of an existing service is an update of its location and tags |
//! | PUT `databaseMigrations/{db}` (`Starting`) | `Starting` without operation (attempt > 1), or with one unknown to a restarted ferry | GET finds the migration with our source database: adopted as ours by its operation id, never a second PUT; none found: the PUT never left, and is sent |
//! | (a journal lost or a new run) | `Start` | GET finds a running migration of this database: adopted (not ours: never cancelled) |
//! | BACKUP LOG … WITH NORECOVERY (`Monitoring`, at cutover) | `Monitoring` without `tail_file` | the source database RESTORING means it was taken: its file is the newest log backup msdb shows, awaited as the tail; not taken again |
//! | POST `cutover` (`Monitoring`) | `Monitoring`, or `CuttingOver` with an unknown operation | GET shows `Completing` or `Succeeded`: followed to the end, never sent again (a second one on a completed migration would be CutoverNotAllowedMigrationCompleteError) |
//! | POST `cancel`, DELETE (`Monitoring`, `Canceling`) | `Canceling` | GET shows Canceling/Canceled: followed; DELETE of a gone record is done |
//!
//! A plan (`ferry plan`) walks the same path: reads are real, the service's PUT and the
//! migration's PUT are recorded with every secret as its `{{name}}` placeholder, then (online)
//! the tail-log backup and the cutover's POST, made by the functions cutover uses. The service's
//! id and the operation id are references the host reads as it sends each call, so the plan,
//! made before either exists, matches the apply.
//!
//! # Modules
//!
//! ```text
//! lib ── start ── service ── telemetry     monitor ── cutover ── report
//!          ├── preflight ── sql                ├── cancel
//!          │      └── storage                  └── telemetry
//!          └── validate ── secrets
//! shared:  arm (ARM requests, the migration's view)   details (migrationStatusDetails)
//!          observe (each GET recorded, failures explained)
//!          state (State, Migration)   check (a precondition's verdict)
//! data:    config   rules   dms_errors
//! ```

pub mod arm;
mod cancel;
mod check;
pub mod config;
mod cutover;
pub mod details;
pub mod dms_errors;
mod monitor;
mod observe;
pub mod preflight;
mod report;
pub mod rules;
mod secrets;
mod service;
mod sql;
mod start;
mod state;
mod storage;
mod telemetry;
mod validate;

use ferry_sdk::prelude::*;

use config::Config;
pub use state::{FileSeen, Migration, State};

pub struct Dms;

impl Plugin for Dms {
    const NAME: &'static str = "dms";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance through Azure Database Migration Service (a databaseMigrations per database from a share or blob), cutover on `ferry cutover`";
    type Config = Config;
    type State = State;

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        config.validate()
    }

    // Each need is named by its config key, so the host's check follows a renamed label
    // (`azure = "mi-prod"`). `storage_azure` (read the storage account) is optional, so not a
    // need: the host's check would ask every step for it; a configured label granted is
    // recognised as the step's without a declared need.
    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Write,
                "reads msdb's backups and the login's rights; takes the tail-log backup at cutover when asked",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Read,
                "checks the target name is free and the TDE certificates are there",
            ),
            need(
                CapabilityKind::Azure,
                "azure",
                Access::Write,
                "starts, follows, cuts over and cancels the databaseMigrations under the MI",
            ),
            need(
                CapabilityKind::Azure,
                "service_azure",
                Access::Write,
                "reads (or creates) the sqlMigrationServices resource",
            ),
            need(
                CapabilityKind::Secret,
                "source_password_secret",
                Access::Read,
                "the DMS login's password, sealed into the migration's body",
            ),
            need(
                CapabilityKind::Secret,
                "account_key_secret",
                Access::Read,
                "the share's password and the storage account keys (share.password_secret, \
                 blob.account_key_secret, target_storage.account_key_secret), sealed into the body",
            ),
        ]
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => start::start(cx),
            State::Service { m, op } => service::service(cx, m, op),
            State::Checking { m } => start::checking(cx, m),
            State::Starting { m, op } => start::starting(cx, m, op),
            State::Monitoring { m } => monitor::monitoring(cx, m),
            State::CuttingOver { m, op } => cutover::cutting_over(cx, m, op),
            State::Canceling { m, op } => cancel::canceling(cx, m, op),
        }
    }
}

ferry_sdk::register!(Dms);
