//! The data two events carry that the pipeline and the journal also keep: how a run ended, and
//! what an item waits for.

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: String,
    pub resumed: bool,
    /// The run had already finished; nothing was done.
    pub already_finished: bool,
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Items deferred after transient failures: the next `ferry apply` calls them again. Left
    /// out of the JSON when none, as before it existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deferred: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What an item waits for, journaled so a resumed run waits only for what is left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_unix_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub reason: String,
}
