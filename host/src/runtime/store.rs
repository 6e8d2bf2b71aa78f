//! What each plugin call's `Store` holds: its WASI context (nothing but an optional scratch
//! directory), its resource table, its memory limiter, the grants of its step and a budget
//! for everything it sends back.

use std::path::Path;
use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use crate::config::Grants;
use crate::events::{EventSink, LogLevel, NoEvents};
use crate::redact::Redactor;
use crate::vault::Vault;

/// Where the scratch directory appears inside the plugin.
pub const SCRATCH_GUEST_PATH: &str = "/scratch";

/// 1 MiB of stdout and of stderr per call: enough for any diagnostic a plugin prints; a plugin
/// that prints more is misbehaving and its write fails.
const STDIO_CAPACITY: usize = 1 << 20;

/// Who a call is for and what it may use. Shared by every call of one work item.
pub struct CallScope {
    pub step: String,
    pub item: String,
    pub grants: Grants,
    pub vault: Arc<Vault>,
    pub redactor: Redactor,
    pub sink: Arc<dyn EventSink>,
    pub min_level: LogLevel,
    /// Connection pools of the SQL labels.
    pub sql: Arc<crate::sql::SqlPools>,
    /// Host operations of the run.
    pub ops: Arc<crate::operations::Operations>,
    /// Storage labels of the run.
    pub storage: Arc<crate::storage::Storage>,
    /// Operator signals sent to this run's items (`ferry cutover`).
    pub signals: crate::signals::Signals,
    /// ARM clients of the azure labels.
    pub azure: Arc<crate::azure::ArmClients>,
    /// Whether mutating calls run, are recorded (`ferry plan`) or must be in a plan.
    pub plan: crate::plan::PlanGate,
    /// Where this item's `.sql` files go, when the step has the `scripts` grant.
    pub scripts: Option<std::path::PathBuf>,
}

impl CallScope {
    /// A scope with no grants, for `describe` and `validate`.
    pub fn ungranted(step: &str) -> Self {
        CallScope {
            step: step.to_owned(),
            item: String::new(),
            grants: Grants::default(),
            vault: Arc::new(Vault::default()),
            redactor: Redactor::default(),
            sink: Arc::new(NoEvents),
            min_level: LogLevel::Info,
            sql: Arc::default(),
            ops: Arc::default(),
            storage: Arc::default(),
            azure: Arc::default(),
            signals: crate::signals::Signals::default(),
            plan: crate::plan::PlanGate::Off,
            scripts: None,
        }
    }
}

/// Per-call counters that cap what a plugin can send back through imports.
#[derive(Debug, Default)]
pub struct Budget {
    pub log_bytes: usize,
    pub log_dropped: bool,
    pub rows: usize,
    pub charts: usize,
    pub progress_updates: usize,
}

/// Refuses memory growth beyond the step's limit and remembers that it did, so a trap that
/// follows can be reported as "out of memory" rather than as a bare `unreachable`.
pub struct MemoryLimiter {
    pub max_bytes: usize,
    pub refused: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Rust guests use one small function table; 100k entries is far past any real plugin.
        Ok(desired <= 100_000)
    }
}

/// The data of one plugin call's `Store`.
pub struct StepData {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) scope: Arc<CallScope>,
    pub(crate) budget: Budget,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
}

impl StepData {
    /// A fresh context: no environment variables, no arguments, no sockets, no files except the
    /// scratch directory when given; stdout and stderr captured for the log.
    pub fn new(
        scope: Arc<CallScope>,
        memory_bytes: usize,
        scratch: Option<&Path>,
    ) -> anyhow::Result<StepData> {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        let mut b = WasiCtx::builder();
        b.stdout(stdout.clone()).stderr(stderr.clone());
        if let Some(dir) = scratch {
            b.preopened_dir(dir, SCRATCH_GUEST_PATH, FsPerms::ReadWrite)
                .map_err(|e| {
                    anyhow::anyhow!("cannot open scratch directory {}: {e}", dir.display())
                })?;
        }
        Ok(StepData {
            wasi: b.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max_bytes: memory_bytes,
                refused: None,
            },
            scope,
            budget: Budget::default(),
            stdout,
            stderr,
        })
    }
}

impl WasiView for StepData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
