//! What happens during a run, typed once. Plugins emit logs, progress and report rows
//! ([`PluginEvent`]); the pipeline adds its own events about the run and its work items; all of
//! them travel as one [`RunEvent`], which the journal stores, `--json` prints, the views show and
//! the report reads back. Every string here was redacted first.

mod plugin_event;
mod run_event;
mod summary;
pub(crate) mod wire;

pub use plugin_event::{
    Chart, ChartSeries, EventSink, LogLevel, NoEvents, ObjectRow, ObjectStatus, PluginEvent,
    Progress,
};
pub use run_event::{Envelope, RunEvent};
pub use summary::{RunSummary, WaitRecord};
pub use wire::json_line;
