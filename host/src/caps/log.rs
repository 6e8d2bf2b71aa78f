//! `log`: plugin log lines into the journal and ferry's log, masked and capped.

use crate::bindings::ferry::plugin::log::{Host, Level};
use crate::events::{LogLevel, PluginEvent};
use crate::runtime::store::StepData;

/// One line is cut at 16 KiB: longer lines are dumps, not messages.
const MAX_LINE: usize = 16 << 10;
/// 1 MiB of log per step call. Past that, lines are dropped (once noted) so a chatty or hostile
/// plugin cannot fill the journal.
const MAX_LOG_PER_CALL: usize = 1 << 20;

impl From<Level> for LogLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

impl Host for StepData {
    async fn emit(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = LogLevel::from(level);
        if level < self.scope.min_level {
            return Ok(());
        }
        if self.budget.log_bytes >= MAX_LOG_PER_CALL {
            if !self.budget.log_dropped {
                self.budget.log_dropped = true;
                let note =
                    "log budget of 1 MiB for this step call is used up; further lines are dropped"
                        .to_owned();
                self.scope.sink.emit(
                    &self.scope.step,
                    &self.scope.item,
                    PluginEvent::Log {
                        level: LogLevel::Warn,
                        message: note,
                    },
                );
            }
            return Ok(());
        }
        let message = self.clean(&message, MAX_LINE);
        self.budget.log_bytes += message.len();
        self.scope.sink.emit(
            &self.scope.step,
            &self.scope.item,
            PluginEvent::Log { level, message },
        );
        Ok(())
    }

    async fn enabled(&mut self, level: Level) -> wasmtime::Result<bool> {
        Ok(LogLevel::from(level) >= self.scope.min_level)
    }
}
