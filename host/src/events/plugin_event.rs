//! What a plugin emits while it runs — logs, progress, report rows, secret reveals — as the host
//! passes it on, and the sink it goes to.

use serde::{Deserialize, Serialize};

use crate::bindings::ferry::plugin::operations::OperationStatus;
use crate::bindings::ferry::plugin::report::ObjectStatus as PluginObjectStatus;

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

impl LogLevel {
    /// The level as `--json` and plain lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Progress of one work item, from its plugin or from a host operation it waits on.
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

impl Progress {
    /// "phase: message (42%)": the line `ferry status` and plain output show.
    pub fn line(&self) -> String {
        let texts = [Some(self.phase.as_str()), self.message.as_deref()];
        let mut line = texts
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        if let Some(f) = self.fraction {
            line.push_str(&format!(" ({:.0}%)", f64::from(f) * 100.0));
        }
        line
    }
}

/// While an item waits on a host operation, the operation's status is the item's progress.
impl From<&OperationStatus> for Progress {
    fn from(status: &OperationStatus) -> Self {
        Progress {
            phase: status.description.clone(),
            fraction: status.fraction,
            bytes_done: status.bytes_done,
            message: status.message.clone(),
            ..Progress::default()
        }
    }
}

/// What happened to one object, as a report row says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectStatus {
    Migrated,
    Unchanged,
    Skipped,
    Warning,
    Failed,
    Refused,
    Conflict,
    Passed,
    Blocked,
}

impl ObjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectStatus::Migrated => "migrated",
            ObjectStatus::Unchanged => "unchanged",
            ObjectStatus::Skipped => "skipped",
            ObjectStatus::Warning => "warning",
            ObjectStatus::Failed => "failed",
            ObjectStatus::Refused => "refused",
            ObjectStatus::Conflict => "conflict",
            ObjectStatus::Passed => "passed",
            ObjectStatus::Blocked => "blocked",
        }
    }
}

impl From<PluginObjectStatus> for ObjectStatus {
    fn from(s: PluginObjectStatus) -> Self {
        match s {
            PluginObjectStatus::Migrated => ObjectStatus::Migrated,
            PluginObjectStatus::Unchanged => ObjectStatus::Unchanged,
            PluginObjectStatus::Skipped => ObjectStatus::Skipped,
            PluginObjectStatus::Warning => ObjectStatus::Warning,
            PluginObjectStatus::Failed => ObjectStatus::Failed,
            PluginObjectStatus::Refused => ObjectStatus::Refused,
            PluginObjectStatus::Conflict => ObjectStatus::Conflict,
            PluginObjectStatus::Passed => ObjectStatus::Passed,
            PluginObjectStatus::Blocked => ObjectStatus::Blocked,
        }
    }
}

/// One object's row in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRow {
    pub object_type: String,
    pub name: String,
    pub status: ObjectStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A chart for the report: grouped bars, one group per label, one bar per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    pub unit: String,
    pub labels: Vec<String>,
    pub series: Vec<ChartSeries>,
}

/// One series of a [`Chart`]: one value per label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// Something a plugin emitted during a call: the part of [`RunEvent`] a plugin can cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum PluginEvent {
    Log {
        level: LogLevel,
        message: String,
    },
    Progress(Progress),
    Row(ObjectRow),
    Chart(Chart),
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

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn a_progress_line_has_phase_message_and_percentage_when_known() {
        let restoring = Progress {
            phase: "restoring".into(),
            message: Some("restored a.trn".into()),
            ..Progress::default()
        };
        assert_eq!(restoring.line(), "restoring: restored a.trn");
        let upload = Progress {
            phase: "upload".into(),
            fraction: Some(0.424),
            message: Some(String::new()),
            ..Progress::default()
        };
        assert_eq!(upload.line(), "upload (42%)");
        assert_eq!(Progress::default().line(), "");
    }
}
