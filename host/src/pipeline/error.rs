//! Why a run could not start or go on (as opposed to a work item failing, which the run records
//! and carries on from).

use std::path::PathBuf;

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the migration's inputs changed since run {run} started: {}. Revert the change to resume that run, or start a new run with `ferry apply --fresh`", changes.join("; "))]
    InputsChanged { run: String, changes: Vec<String> },
    #[error("journal: {0:#}")]
    Journal(anyhow::Error),
    /// Another `ferry apply` holds the state directory.
    #[error(transparent)]
    Locked(crate::journal::LockError),
    /// A step's private directory could not be made; nothing of the step ran.
    #[error("cannot create the scratch directory {}: {source}; check the state directory's permissions and free space", dir.display())]
    Scratch {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// A work item's task panicked or was cancelled: a ferry bug. The journal holds every state
    /// up to it, so `ferry apply` again resumes.
    #[error(
        "a work item's task ended abnormally ({0}); this is a bug in ferry: please report it. Run `ferry apply` again to resume"
    )]
    TaskEnded(String),
}
