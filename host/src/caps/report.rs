//! `report`: object rows for the migration report.

use crate::bindings::ferry::plugin::report::{Host, ObjectRow};
use crate::events::{self, PluginEvent};
use crate::runtime::store::StepData;

const MAX_TEXT: usize = 4 << 10;
/// 10,000 rows per call: an instance with that many logins or jobs should report them over
/// several calls; the cap keeps one call from flooding the journal.
const MAX_ROWS_PER_CALL: usize = 10_000;

impl Host for StepData {
    async fn add_row(&mut self, row: ObjectRow) -> wasmtime::Result<()> {
        if self.budget.rows >= MAX_ROWS_PER_CALL {
            return Ok(());
        }
        self.budget.rows += 1;
        let row = events::ObjectRow {
            object_type: self.clean(&row.object_type, 128),
            name: self.clean(&row.name, MAX_TEXT),
            status: row.status.into(),
            reason_code: row.reason_code.map(|c| self.clean(&c, 128)),
            notes: row.notes.map(|n| self.clean(&n, MAX_TEXT)),
        };
        self.scope
            .sink
            .emit(&self.scope.step, &self.scope.item, PluginEvent::Row(row));
        Ok(())
    }
}
