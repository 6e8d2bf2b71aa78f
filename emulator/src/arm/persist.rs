//! What the front end keeps across a restart: LRS jobs and where they stand, the operation
//! URLs it handed out (and the work still pending behind them), and the role assignments of
//! the instance's identity. With a data directory it is written to `arm-state.json` there
//! (owner-only: it holds the SAS tokens jobs read with) on every change a client makes and
//! while jobs run; without one it is kept in memory for an in-process restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::operation::{JobStep, Operation};
use super::state::Arm;
use crate::lrs::job::{Job, SavedJob};

const STATE_FILE: &str = "arm-state.json";
/// How often running jobs' progress is written while nothing else writes it.
const SAVE_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Snapshot {
    next_op: u64,
    jobs: BTreeMap<String, SavedJob>,
    /// Operation id → the job (its database, lower case) and the step it reports on.
    job_ops: BTreeMap<String, (String, JobStep)>,
    operations: BTreeMap<String, Operation>,
    identity_grants: BTreeMap<String, (String, String)>,
    #[serde(default)]
    link_ops: BTreeMap<String, super::link_work::LinkOp>,
}

pub(super) fn state_file(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

impl Arm {
    fn snapshot(&self) -> Snapshot {
        let jobs = self.jobs.lock();
        let job_ops = self.job_ops.lock();
        Snapshot {
            next_op: self.next_op.load(std::sync::atomic::Ordering::SeqCst),
            jobs: jobs.iter().map(|(k, j)| (k.clone(), j.saved())).collect(),
            job_ops: job_ops
                .iter()
                .filter_map(|(op, (job, step))| {
                    let key = job.start.database.to_ascii_lowercase();
                    jobs.contains_key(&key).then(|| (op.clone(), (key, *step)))
                })
                .collect(),
            operations: self
                .operations
                .lock()
                .iter()
                .map(|(k, o)| (k.clone(), o.clone()))
                .collect(),
            identity_grants: self
                .identity_grants
                .lock()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            link_ops: self.link_ops.lock().clone(),
        }
    }

    /// Writes the state out (nothing without a data directory). A failure is logged: the
    /// front end goes on serving from memory.
    pub(super) fn save(&self) {
        let Some(dir) = &self.options.data_dir else {
            return;
        };
        let _turn = self.saving.lock();
        let text = match serde_json::to_string(&self.snapshot()) {
            Ok(t) => t,
            Err(e) => return tracing::warn!("cannot serialise the ARM front end's state: {e}"),
        };
        if *self.last_saved.lock() == text {
            return;
        }
        if let Err(e) = write_atomically(&state_file(dir), text.as_bytes()) {
            return tracing::warn!(
                "cannot save the ARM front end's state in {}: {e}",
                dir.display()
            );
        }
        *self.last_saved.lock() = text;
    }

    /// Replaces the persisted part of the state with what the data directory holds (nothing
    /// to do without one, or before the first save).
    pub(super) fn load(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.options.data_dir else {
            return Ok(());
        };
        let path = state_file(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        let snap: Snapshot = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not the ARM front end's state ({e}); move it away or start on another --data-dir",
                path.display()
            )
        })?;
        let jobs: BTreeMap<String, Arc<Job>> = snap
            .jobs
            .into_iter()
            .map(|(k, j)| (k, Job::from_saved(j)))
            .collect();
        *self.job_ops.lock() = snap
            .job_ops
            .into_iter()
            .filter_map(|(op, (key, step))| jobs.get(&key).map(|j| (op, (j.clone(), step))))
            .collect();
        *self.jobs.lock() = jobs.into_iter().collect();
        *self.operations.lock() = snap.operations.into_iter().collect();
        *self.identity_grants.lock() = snap.identity_grants.into_iter().collect();
        *self.link_ops.lock() = snap.link_ops;
        self.next_op
            .store(snap.next_op, std::sync::atomic::Ordering::SeqCst);
        *self.last_saved.lock() = text;
        Ok(())
    }

    /// Starts again what was running: jobs still restoring, and operations whose work is
    /// pending; and the task that writes jobs' progress.
    pub(super) fn resume(self: &Arc<Self>) {
        let running: Vec<Arc<Job>> = self
            .jobs
            .lock()
            .values()
            .filter(|j| j.running())
            .cloned()
            .collect();
        for job in running {
            tracing::info!(database = %job.start.database, "resuming an LRS job");
            self.spawn(crate::lrs::job::run(job, self.mi.clone()));
        }
        let pending: Vec<String> = self
            .operations
            .lock()
            .iter()
            .filter(|(_, o)| o.work.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in pending {
            self.run_operation(id);
        }
        self.resume_link_operations();
        self.resume_migrations();
        let me = self.clone();
        self.spawn(async move {
            loop {
                tokio::time::sleep(SAVE_EVERY).await;
                me.save();
            }
        });
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader (or a crash)
/// never sees half of it; owner-only.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
}
