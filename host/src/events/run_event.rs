//! [`RunEvent`]: every kind of event, with its fields named as `--json` and the journal spell
//! them; and [`Envelope`], an event with the run, step and item it belongs to.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::plugin_event::PluginEvent;
use super::summary::{RunSummary, WaitRecord};

/// One event. Most belong to a run and travel in an [`Envelope`]; `Report`, `Summary`, `Plan`
/// `CutoverRequested` and `SignalSent` are the closing lines of a command's `--json` output, printed bare and
/// never journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RunEvent {
    RunStarted {
        migration: String,
        resumed: bool,
        /// Work items in the run, and how many of them were already done (a resumed run).
        items: usize,
        done: usize,
    },
    /// `ferry apply --dev`: a `dev = true` plugin was rebuilt since the last apply, so its
    /// unfinished work items (`items` of them) start again from the beginning of their step.
    PluginRebuilt {
        plugin: String,
        items: usize,
    },
    RunFinished {
        done: usize,
        failed: usize,
        skipped: usize,
        /// Items deferred after transient failures (left out when none, as before it existed).
        #[serde(default, skip_serializing_if = "is_zero")]
        deferred: usize,
    },
    /// A step call begins: the `attempt`th try of the item's current state, its `call`th call.
    ItemStarted {
        attempt: u32,
        call: u32,
    },
    ItemWaiting(WaitRecord),
    /// A transient failure; the same state is called again in `retry_in_ms`.
    ItemRetry {
        attempt: u32,
        error: String,
        retry_in_ms: u64,
    },
    ItemDone {
        calls: u32,
        /// What the plugin returned: its JSON, or its text when that is not JSON. Free-form
        /// plugin data the host does not interpret, so it stays a JSON value.
        output: serde_json::Value,
    },
    ItemFailed {
        error: String,
    },
    /// Transient failures outlasted the retry window: the item waits for the next `ferry apply`,
    /// which calls it again as attempt `attempt` + 1.
    ItemDeferred {
        attempt: u32,
        error: String,
    },
    /// An earlier step of the database did not finish.
    ItemSkipped {
        reason: String,
    },
    /// An operator's signal (`ferry cutover`) to one item, or to every item when it names none.
    Signal {
        name: String,
    },
    /// `apply --json`: where the report was written.
    Report {
        html: PathBuf,
        markdown: PathBuf,
        json: PathBuf,
    },
    /// `apply --json`: how the run ended, the last line.
    Summary {
        summary: RunSummary,
    },
    /// `plan --json`: where the plan was written and how many items would stop.
    Plan {
        plan: PathBuf,
        text: PathBuf,
        items: usize,
        stops: usize,
    },
    /// `cutover --json`: the signal was journaled for these databases (none named: all).
    CutoverRequested {
        run: String,
        databases: Vec<String>,
    },
    /// `failback --json`, `finish --json` and `cutover --allow-data-loss --json`: the named
    /// signal was journaled for these databases (none named: all).
    SignalSent {
        run: String,
        signal: String,
        databases: Vec<String>,
    },
    /// What a work item's plugin emitted, and the host's own log lines and progress about the
    /// item (a failed cleanup, a host operation the item waits on). Untagged: a plugin event
    /// carries its own name.
    #[serde(untagged)]
    Plugin(PluginEvent),
}

/// An event with where it happened: what an observer gets and a `--json` line of `apply`
/// shows. Its JSON is written by hand (in `wire`) to keep `event` first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope {
    pub run: String,
    /// Absent for events of the whole run.
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub item: Option<String>,
    #[serde(flatten)]
    pub event: RunEvent,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
