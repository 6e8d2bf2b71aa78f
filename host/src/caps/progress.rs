//! `progress`: the work item's live progress.

use crate::bindings::ferry::plugin::progress::{Host, ProgressUpdate};
use crate::events::{PluginEvent, Progress};
use crate::runtime::store::StepData;

/// Progress text is one line on a terminal.
const MAX_TEXT: usize = 512;
/// A plugin that sends more updates than this in one call is spinning; extra updates are dropped.
const MAX_UPDATES_PER_CALL: usize = 10_000;

impl Host for StepData {
    async fn update(&mut self, u: ProgressUpdate) -> wasmtime::Result<()> {
        if self.budget.progress_updates >= MAX_UPDATES_PER_CALL {
            return Ok(());
        }
        self.budget.progress_updates += 1;
        let progress = Progress {
            phase: self.clean(&u.phase, MAX_TEXT),
            fraction: u
                .fraction
                .filter(|f| f.is_finite())
                .map(|f| f.clamp(0.0, 1.0)),
            bytes_done: u.bytes_done,
            bytes_total: u.bytes_total,
            current: u.current.map(|c| self.clean(&c, MAX_TEXT)),
            message: u.message.map(|m| self.clean(&m, MAX_TEXT)),
        };
        self.scope.sink.emit(
            &self.scope.step,
            &self.scope.item,
            PluginEvent::Progress(progress),
        );
        Ok(())
    }
}
