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
