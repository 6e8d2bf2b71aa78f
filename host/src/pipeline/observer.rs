//! Run events: every state change of a run, journaled and passed to an [`Observer`] (the
//! terminal view, plain lines, or `--json` lines).

use serde::Serialize;

/// One event of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunEvent {
    /// e.g. "item-started", "log", "progress", "item-done".
    pub event: String,
    pub run: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Event-specific fields.
    #[serde(flatten)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// Receives run events as they happen.
pub trait Observer: Send + Sync {
    fn on(&self, event: &RunEvent);
    /// Called once at the end, so a live view can clear itself.
    fn finish(&self) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn on(&self, _event: &RunEvent) {}
}
