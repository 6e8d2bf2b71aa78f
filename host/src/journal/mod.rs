//! The journal: runs, work items (step × database), every step call with the state after it,
//! and events. It is what makes `ferry apply` resumable after a crash, and what `ferry status`
//! reads. Behind a trait so a shared database (fleet mode) can replace embedded SQLite.

mod lock;
mod sqlite;

pub use lock::{LockError, RunLock, lock_path, this_process};
pub use sqlite::SqliteJournal;

use serde::{Deserialize, Serialize};

use crate::events::RunEvent;
pub use crate::events::WaitRecord;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
}

/// Where a work item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Pending,
    Running,
    Waiting,
    Done,
    Failed,
    Skipped,
    /// Transient failures outlasted the run's retry window: not final, the next `ferry apply`
    /// calls it again (with its attempt count), and the steps after it wait.
    Deferred,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Running => "running",
            ItemStatus::Waiting => "waiting",
            ItemStatus::Done => "done",
            ItemStatus::Failed => "failed",
            ItemStatus::Skipped => "skipped",
            ItemStatus::Deferred => "deferred",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ItemStatus::Pending,
            "running" => ItemStatus::Running,
            "waiting" => ItemStatus::Waiting,
            "done" => ItemStatus::Done,
            "failed" => ItemStatus::Failed,
            "skipped" => ItemStatus::Skipped,
            "deferred" => ItemStatus::Deferred,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ItemStatus::Done | ItemStatus::Failed | ItemStatus::Skipped
        )
    }
}

/// A run as journaled.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub migration: String,
    pub status: RunStatus,
    /// Input fingerprint: component → hash (see `pipeline::fingerprint`).
    pub fingerprint: std::collections::BTreeMap<String, String>,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// A work item as journaled.
#[derive(Debug, Clone, Serialize)]
pub struct ItemRecord {
    pub id: i64,
    pub step: String,
    pub step_index: u32,
    pub item: String,
    pub wave: u32,
    pub status: ItemStatus,
    #[serde(skip)]
    pub state: Option<String>,
    /// The attempt number of the last call made with the current state.
    pub attempt: u32,
    /// A call was under way when the journal was last written (ferry was killed mid-call).
    pub in_call: bool,
    pub calls: u32,
    pub wait: Option<WaitRecord>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub updated_at_ms: Option<i64>,
    /// The latest progress line ("restoring: restored a.trn, …"), for `ferry status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
}

/// A new item to create with a run.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub step: String,
    pub step_index: u32,
    pub item: String,
    pub wave: u32,
}

/// How a step call ended, as the journal records it.
#[derive(Debug, Clone)]
pub enum CallEnd {
    Next {
        state: String,
    },
    Wait {
        state: String,
        wait: WaitRecord,
    },
    Done {
        output: String,
    },
    /// A transient failure; the same state is tried again.
    Retry {
        error: String,
    },
    Failed {
        error: String,
    },
    /// Transient failures outlasted the retry window: the next `ferry apply` tries again.
    Deferred {
        error: String,
    },
}

/// How many of a run's work items are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    pub total: usize,
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub deferred: usize,
}

impl ItemCounts {
    /// Items a later `ferry apply` would still call: neither done nor ended for good.
    pub fn open(&self) -> usize {
        self.total - self.done - self.failed - self.skipped
    }
}

/// A journaled event.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub step: Option<String>,
    pub item: Option<String>,
    /// The event's name, which the journal indexes (see [`Journal::events_of_kind`]).
    pub kind: String,
    pub event: RunEvent,
}

/// Journal storage. Every method is one transaction: a crash between two calls leaves the
/// journal at one or the other, never between.
pub trait Journal: Send {
    fn latest_run(&self) -> anyhow::Result<Option<RunRecord>>;
    fn runs(&self) -> anyhow::Result<Vec<RunRecord>>;
    /// Creates a run and its work items, read from `items` as they are written, so a large
    /// migration is never held in memory twice.
    fn create_run(
        &mut self,
        id: &str,
        migration: &str,
        fingerprint: &std::collections::BTreeMap<String, String>,
        items: &mut dyn Iterator<Item = NewItem>,
    ) -> anyhow::Result<()>;
    fn set_run_status(&mut self, run: &str, status: RunStatus) -> anyhow::Result<()>;
    /// Every work item of a run (for `ferry status` and the report).
    fn items(&self, run: &str) -> anyhow::Result<Vec<ItemRecord>>;
    /// How many of the run's items are in each status.
    fn counts(&self, run: &str) -> anyhow::Result<ItemCounts>;
    /// The run's waves, in order.
    fn waves(&self, run: &str) -> anyhow::Result<Vec<u32>>;
    /// Up to `limit` databases of one wave, in name order, after `after`: `apply` walks a
    /// wave a page at a time, so memory does not grow with the number of databases.
    fn lanes(
        &self,
        run: &str,
        wave: u32,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<String>>;
    /// One database's items of a wave across the steps, in step order (the instance's items
    /// of the first and the last wave are separate lanes).
    fn lane(&self, run: &str, wave: u32, item: &str) -> anyhow::Result<Vec<ItemRecord>>;
    /// `ferry apply --retry-failed`: puts failed and skipped items back to be called again from
    /// the start of their step (a permanent failure is a dead end of the plugin's state machine,
    /// so its last state is no place to resume from; the calls table keeps the history), and
    /// the run back to running. Returns how many.
    fn reopen_failed(&mut self, run: &str) -> anyhow::Result<usize>;
    /// `ferry apply --dev` after a development plugin was rebuilt: the unfinished items of
    /// `steps` (every status but done) and the items skipped behind them in their lanes go back
    /// to the start of their step, since a state the old build left may mean nothing to the new
    /// one; done items stay done. The run takes `fingerprint` (the new build's), and is running
    /// again if anything was reopened. Returns how many items were reopened.
    fn reopen_steps(
        &mut self,
        run: &str,
        steps: &[String],
        fingerprint: &std::collections::BTreeMap<String, String>,
    ) -> anyhow::Result<usize>;
    fn item(&self, item_id: i64) -> anyhow::Result<ItemRecord>;
    /// Marks a call as under way with the given attempt number.
    fn begin_call(&mut self, item_id: i64, attempt: u32) -> anyhow::Result<()>;
    /// Records how the call under way ended.
    fn end_call(&mut self, item_id: i64, end: &CallEnd) -> anyhow::Result<()>;
    /// Clears a finished wait so the next call starts from the same state.
    fn clear_wait(&mut self, item_id: i64) -> anyhow::Result<()>;
    fn skip(&mut self, item_id: i64, reason: &str) -> anyhow::Result<()>;
    fn add_event(
        &mut self,
        run: &str,
        step: Option<&str>,
        item: Option<&str>,
        event: &RunEvent,
    ) -> anyhow::Result<()>;
    /// The run's events in order. An event this version cannot read (one written by a newer
    /// ferry) is left out.
    fn events(&self, run: &str) -> anyhow::Result<Vec<EventRecord>>;
    /// Keeps `line` as the latest progress of one work item.
    fn set_progress(&mut self, run: &str, step: &str, item: &str, line: &str)
    -> anyhow::Result<()>;
    /// The run's events of one kind, in order. Asked on every step call for signals, so a
    /// journal should answer it without reading the whole run.
    fn events_of_kind(&self, run: &str, kind: &str) -> anyhow::Result<Vec<EventRecord>> {
        let mut all = self.events(run)?;
        all.retain(|e| e.kind == kind);
        Ok(all)
    }
}

/// A journal shared by a run's tasks.
pub type SharedJournal = std::sync::Arc<parking_lot::Mutex<Box<dyn Journal>>>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
