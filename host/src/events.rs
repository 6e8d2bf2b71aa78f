//! What plugins emit while they run (logs, progress, report rows), as the host passes it on to
//! the journal, the progress view and `--json` consumers. Every string here was redacted first.

use serde::{Deserialize, Serialize};

/// A log level, ordered from least to most important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Progress of one work item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_done: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One object's row in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRow {
    pub object_type: String,
    pub name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Something a plugin emitted during a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum PluginEvent {
    Log {
        level: LogLevel,
        message: String,
    },
    Progress(Progress),
    Row(ObjectRow),
    /// A plugin read a secret's value (the value is not recorded).
    SecretRevealed {
        label: String,
    },
}

/// Where a running plugin's events go. The pipeline journals them and shows them.
pub trait EventSink: Send + Sync {
    fn emit(&self, step: &str, item: &str, event: PluginEvent);
}

/// A sink that drops everything (for `describe` and `validate`, which run with no item).
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _step: &str, _item: &str, _event: PluginEvent) {}
}
