//! Host operations: long work a plugin starts and then waits on (a RESTORE, later an upload or
//! an ARM long-running operation). They run in host tasks, outlive the plugin instance that
//! started them, report progress to their work item, and belong to that item alone.
//!
//! The registry lives in memory: if ferry stops, a journaled wait on an operation ends at once
//! on resume and the plugin's next `operations.status` answers "unknown", so it re-checks the
//! server, which is where the work really happens.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;

use crate::bindings::ferry::plugin::operations::{OperationState, OperationStatus};
use crate::bindings::types::{Failure, PluginError};

/// Where an operation is, as the registry keeps it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: OperationStatus,
    pub owner: (String, String),
}

/// All operations of a run.
#[derive(Default)]
pub struct Operations {
    ops: Mutex<HashMap<String, watch::Sender<Snapshot>>>,
    next: std::sync::atomic::AtomicU64,
}

/// What the task driving an operation uses to report on it.
pub struct Reporter {
    tx: watch::Sender<Snapshot>,
}

impl Reporter {
    pub fn progress(&self, fraction: Option<f32>, message: Option<String>) {
        self.tx.send_modify(|s| {
            if matches!(s.status.state, OperationState::Running) {
                s.status.fraction = fraction.or(s.status.fraction);
                s.status.message = message;
            }
        });
    }

    /// Progress of a transfer: bytes moved so far out of `total`.
    pub fn bytes(&self, done: u64, total: u64, message: String) {
        self.tx.send_modify(|s| {
            if matches!(s.status.state, OperationState::Running) {
                s.status.bytes_done = Some(done);
                s.status.fraction = Some(if total == 0 {
                    1.0
                } else {
                    done as f32 / total as f32
                });
                s.status.message = Some(message);
            }
        });
    }

    pub fn succeeded(&self, result: serde_json::Value) {
        self.tx.send_modify(|s| {
            s.status.state = OperationState::Succeeded;
            s.status.fraction = Some(1.0);
            s.status.result = Some(result.to_string());
        });
    }

    pub fn failed(&self, message: String, code: Option<i32>) {
        self.tx
            .send_modify(|s| s.status.state = OperationState::Failed(Failure { message, code }));
    }

    /// Ends the operation with a capability error: a failure's message and code, any other
    /// error as a sentence.
    pub fn failed_with(&self, e: PluginError) {
        match e {
            PluginError::Failed(f) | PluginError::Transient(f) => self.failed(f.message, f.code),
            other => self.failed(crate::bindings::describe_plugin_error(&other), None),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.tx.borrow().status.state, OperationState::Running)
    }
}

fn unknown(id: &str) -> PluginError {
    PluginError::Failed(Failure {
        message: format!(
            "no host operation `{}` is known for this work item (was ferry restarted since it began?)",
            id.escape_default()
        ),
        code: None,
    })
}

impl Operations {
    /// Registers a new running operation for `owner` (step, item) and returns its id and the
    /// reporter its task uses.
    pub fn begin(&self, owner: (String, String), description: String) -> (String, Reporter) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("op-{}-{n}", std::process::id());
        let status = OperationStatus {
            id: id.clone(),
            description,
            state: OperationState::Running,
            fraction: None,
            bytes_done: None,
            message: None,
            result: None,
        };
        let (tx, _) = watch::channel(Snapshot { status, owner });
        self.ops.lock().insert(id.clone(), tx.clone());
        (id, Reporter { tx })
    }

    /// The status of an operation, for its owner only.
    pub fn status(
        &self,
        id: &str,
        owner: &(String, String),
    ) -> Result<OperationStatus, PluginError> {
        let ops = self.ops.lock();
        let s = ops
            .get(id)
            .map(|tx| tx.borrow().clone())
            .ok_or_else(|| unknown(id))?;
        if &s.owner != owner {
            return Err(unknown(id));
        }
        Ok(s.status)
    }

    /// Waits until the operation is no longer running; calls `on_change` with each progress
    /// update meanwhile. Returns at once for an unknown id.
    pub async fn wait(&self, id: &str, mut on_change: impl FnMut(&OperationStatus)) {
        let rx = self.ops.lock().get(id).map(|tx| tx.subscribe());
        let Some(mut rx) = rx else { return };
        loop {
            let status = rx.borrow_and_update().status.clone();
            if !matches!(status.state, OperationState::Running) {
                return;
            }
            on_change(&status);
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Shared by every call of a run.
pub type SharedOperations = Arc<Operations>;
