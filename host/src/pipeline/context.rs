//! What a run is given ([`ApplyOptions`]) and what every work item of it shares ([`RunContext`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::Loaded;
use super::run_log::RunLog;
use crate::events::LogLevel;
use crate::redact::Redactor;
use crate::vault::Vault;

/// How to run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Holds the journal and scratch directories.
    pub state_dir: PathBuf,
    /// Start a new run even if the last one is unfinished or finished.
    pub fresh: bool,
    /// Plugin log lines below this level are dropped.
    pub log_level: LogLevel,
    /// Off for a plain apply; Record for `ferry plan`; Enforce for `ferry apply plan.json`.
    pub gate: crate::plan::PlanGate,
    /// Call failed and skipped items of the last run again (`ferry apply --retry-failed`).
    pub retry_failed: bool,
    /// Where steps with the `scripts` grant write their `.sql` files: `<state>/scripts`, or
    /// `<state>/scripts/plan` while planning (a plan's own state directory is thrown away).
    pub scripts_dir: PathBuf,
}

/// What every work item of a run shares.
pub(crate) struct RunContext {
    pub(super) sql: Arc<crate::sql::SqlPools>,
    pub(super) ops: Arc<crate::operations::Operations>,
    pub(super) storage: Arc<crate::storage::Storage>,
    pub(super) azure: Arc<crate::azure::ArmClients>,
    pub(super) loaded: Arc<Loaded>,
    pub(super) opts: ApplyOptions,
    pub(super) log: Arc<RunLog>,
    pub(super) vault: Arc<Vault>,
    pub(super) redactor: Redactor,
    pub(super) run: String,
}
