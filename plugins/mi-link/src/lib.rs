//! `mi-link`: migrates each database to Azure SQL Managed Instance through the Managed
//! Instance link (methods.md §1; "Prepare environment for link", "Configure link with T-SQL",
//! "Fail over link", "Troubleshoot link", learn.microsoft.com): a distributed availability
//! group per database replicates it to the MI in near real time, and cutover is a failover
//! measured in seconds, or for SQL Server 2016–2019 the link deleted (break).
//!
//! Per database (one work item each): every precondition judged before any change; optionally
//! the two connectivity tests through temporary Agent jobs; the trust (master key, endpoint
//! certificate uploaded through `serverTrustCertificates`, the MI's certificate and the root
//! CAs imported); the endpoint, the AG and the DAG on SQL Server; the link's ARM PUT; seeding
//! and replication watched; cutover on `ferry cutover` (or `cutover_after`; forced with `ferry
//! cutover --allow-data-loss`); the MI's first full backup awaited before the source's AG and
//! DAG are dropped. A two-way link can be kept (`keep_link`): `ferry failback` fails back,
//! `ferry finish` ends it.
//!
//! # Side effects, and why each is safe to repeat
//!
//! The host journals the state a step call returns; a call cut short by a kill is made again
//! with the state it started from. Every change below is found by reading before it is made.
//!
//! | Change (made in state) | Killed right after it, the journal holds | How the repeat converges |
//! |---|---|---|
//! | Agent test jobs, `TEST_CERT`, `TEST_ENDPOINT` (`Start`) | `Start` | a job of the same name is deleted and made again; `TEST_CERT` found is not made again; a `TEST_ENDPOINT` found is the mirroring endpoint the test uses, and is dropped after it as if just made |
//! | `sp_delete_job`, DROP ENDPOINT (`Network`) | `Network` | each drop of something gone fails quietly (logged) |
//! | CREATE MASTER KEY (`Trust`) | `Trust` | `sys.symmetric_keys` id 101 exists: not made again |
//! | CREATE CERTIFICATE `Cert_<server>_endpoint[_<date>]` (`Trust`) | `Trust` | found in `master.sys.certificates` and not near expiry: reused, never a second one |
//! | PUT `serverTrustCertificates/{name}` (`Trust`, an operation) | `Trust`, or `TrustUpload` with an unknown operation | GET finds it with the same thumbprint: not sent again; an unknown operation goes back to `Trust`, which reads it |
//! | CREATE CERTIFICATE `[<mi fqdn>]` FROM BINARY (`TrustUpload`) | `TrustUpload` | its CERTENCODED equals the MI's `publicBlob`: kept; a different one is replaced |
//! | CREATE CERTIFICATE root CA + `sp_certificate_add_issuer` (`TrustUpload`) | `TrustUpload` | the certificate is found by name and skipped; a kill between the two leaves the issuer unset (sp_certificate_add_issuer has no view to read back): drop that root CA certificate and apply again |
//! | CREATE/ALTER ENDPOINT (`Linking`) | `Linking` | the endpoint already authenticates with the certificate: no statement |
//! | CREATE AVAILABILITY GROUP (AG, then DAG) (`Linking`) | `Linking` | found by name in `sys.availability_groups`: not made again |
//! | PUT `distributedAvailabilityGroups/{dag}` (`Linking`; an operation) | `Linking`, or `Creating` with an unknown operation | GET finds the link: followed, never created twice; none and the operation unknown: the PUT never left, and is sent |
//! | forced failover: POST `failover` `ForcedAllowDataLoss` (`Synchronizing` at cutover) | `Synchronizing` or `FailingOver` | the roles are read first as below; a source that cannot be reached counts as not primary; SQL Server's AG and DAG are never dropped after it (its copy may hold writes the MI lacks) |
//! | PATCH `replicationMode = Sync` + ALTER … MODIFY … SYNCHRONOUS_COMMIT (`Synchronizing` at cutover) | `Synchronizing` or `SwitchingSync` | setting the mode a side has is harmless: both are sent again |
//! | the failover: T-SQL FAILOVER (2022 CU13+) or POST `failover` (`Draining`) | `Draining` or `FailingOver` | the roles are read first: SQL Server's replica SECONDARY (or the MI's role Primary) means it happened, and nothing is sent — a second failover would swap the roles back |
//! | DELETE of the link, one way (`Draining`) | `Draining` or `FailingOver` | SQL Server's replica is no longer PRIMARY of a link ARM still has, or the link is gone: the break is finished, not repeated |
//! | DELETE of the link after a two-way failover, DROP AVAILABILITY GROUP DAG then AG (`AwaitingBackup`) | `AwaitingBackup` | the link and each AG are looked up first; what is gone is not dropped again |
//! | PATCH Sync for failback (`Reversed`, on `ferry failback`) | `Reversed` | sent again: harmless |
//! | POST `failover` for failback (`FailbackDraining`, once the LSNs are equal and stable) | `FailbackDraining` or `FailingBack` | SQL Server's replica PRIMARY again means the failback happened: finished, not sent again |
//!
//! A plan (`ferry plan`) walks the same path: reads are real, every statement and ARM call is
//! recorded (the master key's password as `***`) up to the link's PUT; after it, `plan`
//! lists what cutover, failback and the clean-up would send (they cannot be walked: the
//! link does not exist to be read).
//!
//! # Modules
//!
//! ```text
//! lib ── start ── network        trust ── setup ── monitor ── cutover ── finish ←── failback
//!  └── plan (while planning, after setup: the calls of cutover, failback, finish)
//!          │                       │        │         │          │         │           │
//!          └── preflight ──────────┴── endpoint ──────┴──────────┴─────────┴───────────┘
//! shared:  arm (ARM requests, the link's view)   dmv (the DAG's DMVs, the MI's backups)
//!          sql (T-SQL by side)   state (State, Link, Tests)
//! data:    config   versions   link_errors
//! ```

pub mod arm;
pub mod config;
mod cutover;
mod dmv;
pub mod endpoint;
mod failback;
mod finish;
pub mod link_errors;
mod monitor;
mod network;
mod plan;
pub mod preflight;
mod setup;
mod sql;
mod start;
mod state;
mod trust;
pub mod versions;

use ferry_sdk::prelude::*;

use config::Config;
pub use state::{Link, State};

pub struct MiLink;

impl Plugin for MiLink {
    const NAME: &'static str = "mi-link";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance through the Managed Instance link (a distributed availability group per database), cutover on `ferry cutover`";
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
                "checks the source; creates the master key, certificates, endpoint, AG and DAG; fails over",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Write,
                "the MI's Agent runs a connectivity test; its msdb shows the first backup after cutover",
            ),
            need(
                CapabilityKind::Azure,
                "mi",
                Access::Write,
                "uploads the trust certificate; creates, switches, fails over and deletes the link",
            ),
        ]
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => start::start(cx),
            State::Network { link, tests } => network::running(cx, link, tests),
            State::Trust { link } => trust::trust(cx, link),
            State::TrustUpload { link, op } => trust::uploaded(cx, link, op),
            State::Linking { link } => setup::linking(cx, link),
            State::Creating { link, .. } if cx.planning() => plan::after_link(cx, link),
            State::Creating { link, op } => setup::creating(cx, link, op),
            State::Seeding { link } => monitor::seeding(cx, link),
            State::Synchronizing { link } => monitor::synchronizing(cx, link),
            State::SwitchingSync { link, op } => cutover::switching_sync(cx, link, op),
            State::Draining { link } => cutover::draining(cx, link),
            State::FailingOver { link, op } => cutover::failing_over(cx, link, op),
            State::AwaitingBackup { link } => finish::awaiting_backup(cx, link),
            State::Reversed { link } => failback::reversed(cx, link),
            State::FailbackDraining { link } => failback::draining(cx, link),
            State::FailingBack { link, op } => failback::failing_back(cx, link, op),
        }
    }

    fn cleanup(cx: &mut Context<'_, Config>, state: State) {
        if let State::Network { tests, .. } = state {
            network::clean(cx, &tests);
        }
    }
}

ferry_sdk::register!(MiLink);
