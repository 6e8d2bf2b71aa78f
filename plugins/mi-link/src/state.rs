//! What is journaled between step calls: the [`State`] and the [`Link`] it carries, and the
//! poll every phase waits with.

use std::time::Duration;

use ferry_sdk::Phases;
use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;

#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// Preconditions, before any change.
    #[default]
    Start,
    /// The connectivity tests' Agent jobs run on both sides.
    Network { link: Link, tests: Tests },
    /// Master key, endpoint certificate, its upload, the MI's certificate and the root CAs.
    Trust { link: Link },
    /// The upload of SQL Server's certificate (`serverTrustCertificates` PUT) runs as `op`.
    TrustUpload { link: Link, op: String },
    /// Endpoint, AG and DAG on SQL Server, then the link's PUT.
    Linking { link: Link },
    /// The link's PUT runs as `op` (None: sent by a process that stopped).
    Creating { link: Link, op: Option<String> },
    /// The MI seeds the database.
    Seeding { link: Link },
    /// Seeded; replicating until cutover.
    Synchronizing { link: Link },
    /// Cutover: the PATCH to synchronous commit runs as `op`.
    SwitchingSync { link: Link, op: Option<String> },
    /// Cutover: waiting for `last_hardened_lsn` equal and stable.
    Draining { link: Link },
    /// Cutover: the failover (or the link's DELETE, one way) runs as `op`.
    FailingOver { link: Link, op: Option<String> },
    /// After the failover: waiting for the MI's first full backup, then the source's AG.
    AwaitingBackup { link: Link },
    /// Two-way, after cutover: the link is kept for `failback`.
    Reversed { link: Link },
    /// Failback: waiting for `last_hardened_lsn` equal and stable, then the failover.
    FailbackDraining { link: Link },
    /// Failback: the planned failover back to SQL Server runs as `op`.
    FailingBack { link: Link, op: Option<String> },
}

/// One database's link.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Link {
    pub db: String,
    pub ag: String,
    pub dag: String,
    /// `@@SERVERNAME` of the source: its replica's name.
    pub server_name: String,
    /// The MI's short name (the MI side's AG in the DAG) and its FQDN.
    pub mi_name: String,
    pub mi_fqdn: String,
    /// `TCP://<source_address>:<port>`.
    pub source_url: String,
    /// The endpoint certificate on SQL Server.
    pub cert_name: String,
    /// SQL Server 2016: no CLUSTER_TYPE.
    pub cluster_type: bool,
    /// 2016–2019: cutover breaks the link.
    pub one_way: bool,
    /// T-SQL FAILOVER exists on the source (2022 CU13+).
    pub tsql_failover: bool,
    /// The link is two-way (`failoverMode = Manual`).
    pub two_way: bool,
    pub phases: Phases,
    /// When seeding began and ended (ms since the Unix epoch).
    pub seeding_started_ms: u64,
    pub seeding_ended_ms: u64,
    /// The largest lag seen while replicating: log send queue (KB) and ARM's seconds.
    pub peak_send_queue_kb: i64,
    pub peak_lag_seconds: f64,
    /// The hardened LSN seen equal on both sides and since when.
    pub stable: Option<(String, u64)>,
    /// Since when (ms) the two sides are seen disconnected during a planned failover; 0 while
    /// connected.
    pub disconnected_since_ms: u64,
    /// The LSNs compared when cutover went ahead: (source, MI).
    pub compared: Option<(String, String)>,
    pub cutover_started_ms: u64,
    /// The MI's highest full `backup_set_id` of the database when cutover began: a higher one
    /// is its first backup after the failover (ids, not dates: the two clocks may differ).
    pub mi_backup_mark: i64,
    /// When the MI became writable (the failover or the break ended).
    pub writable_ms: u64,
    /// The PATCH to synchronous commit was accepted.
    pub sync_sent: bool,
    /// The failover (or break) was accepted.
    pub failed_over: bool,
    /// The cutover is a forced failover (`failover = "forced"`, or `ferry cutover
    /// --allow-data-loss`): fixed when cutover begins.
    pub forced: bool,
    /// The link was broken (deleted) rather than failed over.
    pub broken: bool,
    /// Failback: the PATCH to synchronous commit was sent.
    pub failback_sync_sent: bool,
    /// The warning that SQL Server's endpoint certificate expires soon was given.
    pub cert_warned: bool,
    /// The log-held warning was given (once per crossing).
    pub log_warned: bool,
    /// The last link error said, so each is said once.
    pub last_error: Option<String>,
}

/// Whether cutover is a forced failover: configured (with `allow_data_loss`, which the
/// config's validation demands), or asked for with `ferry cutover --allow-data-loss`, which
/// sends `force-failover` beside `cutover`.
pub fn forced(cx: &mut Context<'_, Config>) -> bool {
    cx.config().failover == crate::config::Failover::Forced || cx.signal_requested("force-failover")
}

/// Looks again in `poll_seconds`.
pub fn wait(cx: &mut Context<'_, Config>, state: State, why: &str) -> Result<Outcome<State>> {
    let secs = u64::from(cx.config().poll_seconds);
    Ok(Outcome::wait_for(Duration::from_secs(secs), state, why))
}

/// Follows an operation: Ok(true) succeeded, Ok(false) unknown to this process (ferry
/// restarted), Err with the failure (its code kept) otherwise; still running is a transient.
pub fn ended(cx: &mut Context<'_, Config>, op: &str, what: &str) -> Result<bool> {
    use ferry_sdk::OperationState;
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

/// The connectivity tests under way: the jobs on each side and whether ferry made the
/// temporary test endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tests {
    pub source_job: String,
    pub mi_job: Option<String>,
    pub test_endpoint: bool,
    pub started_ms: u64,
}
