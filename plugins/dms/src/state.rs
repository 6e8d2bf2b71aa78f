//! What is journaled between step calls: the [`State`], the [`Migration`] it carries, and the
//! poll every phase waits with.

use std::time::Duration;

use ferry_sdk::Phases;
use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;

#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// First call: a migration already running for this database is adopted.
    #[default]
    Start,
    /// The service is read (and created, its PUT running as `op`), then its runtime.
    Service { m: Migration, op: Option<String> },
    /// Preconditions on the source, the MI and the storage, before anything starts.
    Checking { m: Migration },
    /// The migration's PUT runs as `op` (None: not sent yet).
    Starting { m: Migration, op: Option<String> },
    /// Restoring; cutover on `ferry cutover` or the gate once every file is Restored.
    Monitoring { m: Migration },
    /// The POST cutover runs as `op`; followed through Completing to Succeeded.
    CuttingOver { m: Migration, op: Option<String> },
    /// The POST cancel (then the DELETE, when asked) runs as `op`.
    Canceling { m: Migration, op: Option<String> },
}

/// One database's migration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Migration {
    pub db: String,
    pub target: String,
    /// The MI's and the service's ARM ids (`scope`, `migrationService`).
    pub mi_id: String,
    pub service_id: String,
    /// `migrationOperationId` of the migration being followed.
    pub operation_id: Option<String>,
    /// The operation id this run's PUT started: only that migration may be cancelled.
    pub started_operation_id: Option<String>,
    /// The migration was found running and adopted (not started by this run).
    pub adopted: bool,
    pub phases: Phases,
    /// Every file seen, with each status and when it was first seen in it.
    pub files: Vec<FileSeen>,
    /// The tail-log backup's file name, once taken.
    pub tail_file: Option<String>,
    /// When cutover was asked for and when the MI became writable (ms since the epoch).
    pub cutover_requested_ms: u64,
    pub cutover_sent_ms: u64,
    pub completed_ms: u64,
    /// Times DMS answered MigrationNotReadyForCutoverError.
    pub not_ready: u32,
    /// Since when DMS shows `Retriable`, to say it once.
    pub retriable_since_ms: u64,
    /// Since when the runtime has been seen not Online (0: it is, or there is none).
    pub runtime_offline_since_ms: u64,
    /// The last blocking reason said, so each is said once.
    pub last_blocking: Option<String>,
    /// The warning that DMS gave no details was given.
    pub no_details_said: bool,
    /// The cancel was sent; the DELETE was sent.
    pub cancel_sent: bool,
    pub delete_sent: bool,
    /// When the runtime's nodes were last read (`listMonitoringData`, ms since the epoch) and
    /// their one-line summary, shown with the progress. Absent from older journals: the
    /// struct's `serde(default)` reads them as never.
    pub telemetry_ms: u64,
    pub telemetry: Option<String>,
}

/// One backup file's timeline.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FileSeen {
    pub name: String,
    pub backup_type: String,
    /// (status, first seen ms since the epoch), in order.
    pub statuses: Vec<(String, u64)>,
}

impl Migration {
    /// Records `status` for `name` when it changed; true when it did.
    pub fn saw(&mut self, name: &str, backup_type: &str, status: &str, now: u64) -> bool {
        let at = match self.files.iter().position(|f| f.name == name) {
            Some(at) => at,
            None => {
                self.files.push(FileSeen {
                    name: name.to_owned(),
                    backup_type: backup_type.to_owned(),
                    statuses: Vec::new(),
                });
                self.files.len() - 1
            }
        };
        let f = &mut self.files[at];
        if f.statuses.last().map(|(s, _)| s.as_str()) == Some(status) {
            return false;
        }
        f.statuses.push((status.to_owned(), now));
        true
    }

    /// Whether this run started the migration now followed.
    pub fn ours(&self) -> bool {
        self.started_operation_id.is_some() && self.started_operation_id == self.operation_id
    }
}

/// Looks again in `poll_seconds`.
pub fn wait(cx: &mut Context<'_, Config>, state: State, why: &str) -> Result<Outcome<State>> {
    let secs = u64::from(cx.config().poll_seconds);
    Ok(Outcome::wait_for(Duration::from_secs(secs), state, why))
}

/// Follows a host operation: Ok(Some(true)) succeeded, Ok(None) still running, Ok(Some(false))
/// unknown to this process (ferry restarted), Err with the failure (its message keeps ARM's
/// code) otherwise.
pub fn ended(cx: &mut Context<'_, Config>, op: &str, what: &str) -> Result<Option<bool>> {
    use ferry_sdk::OperationState;
    match cx.operation(op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => Ok(Some(true)),
            OperationState::Running => Ok(None),
            OperationState::Failed(f) => Err(Error::Failed(ferry_sdk::Failure {
                message: format!("{what} failed: {}", f.message),
                code: f.code,
            })),
            OperationState::Cancelled => Err(Error::failed(format!(
                "{what} was cancelled; run `ferry apply --retry-failed` to do it again"
            ))),
        },
        Err(_) => Ok(Some(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_recorded_once_per_change() {
        let mut m = Migration::default();
        assert!(m.saw("a.bak", "Database", "Arrived", 1));
        assert!(!m.saw("a.bak", "Database", "Arrived", 2));
        assert!(m.saw("a.bak", "Database", "Restored", 3));
        assert_eq!(m.files[0].statuses.len(), 2);
        assert!(!m.ours());
        m.started_operation_id = Some("x".into());
        m.operation_id = Some("x".into());
        assert!(m.ours());
    }

    #[test]
    fn a_journal_from_before_the_telemetry_loads() {
        let m: Migration =
            serde_json::from_str(r#"{"db": "Sales", "target": "Sales", "not_ready": 2}"#).unwrap();
        assert_eq!((m.telemetry_ms, m.telemetry.as_deref()), (0, None));
        assert_eq!(m.not_ready, 2);
    }
}
