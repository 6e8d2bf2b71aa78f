//! `report`: object rows for the migration report.

use crate::bindings::ferry::plugin::report::{Chart, Host, ObjectRow};
use crate::events::{self, PluginEvent};
use crate::runtime::store::StepData;

const MAX_TEXT: usize = 4 << 10;
/// 10,000 rows per call: an instance with that many logins or jobs should report them over
/// several calls; the cap keeps one call from flooding the journal.
const MAX_ROWS_PER_CALL: usize = 10_000;
/// Charts are for a person to look at: more than a screenful of bars per group, or of charts
/// per call, would not be read, and each is kept in the journal.
const MAX_CHARTS_PER_CALL: usize = 20;
const MAX_LABELS: usize = 200;
const MAX_SERIES: usize = 8;

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

    async fn add_chart(&mut self, chart: Chart) -> wasmtime::Result<()> {
        StepData::add_chart(self, chart);
        Ok(())
    }
}

impl StepData {
    /// `report.add-chart`: a chart whose shape is wrong is left out with a warning in the log,
    /// never drawn with made-up values.
    pub(crate) fn add_chart(&mut self, chart: Chart) {
        if self.budget.charts >= MAX_CHARTS_PER_CALL {
            return;
        }
        self.budget.charts += 1;
        let title = self.clean(&chart.title, 256);
        let wrong = if chart.labels.is_empty() || chart.labels.len() > MAX_LABELS {
            Some(format!(
                "it has {} labels (1 to {MAX_LABELS})",
                chart.labels.len()
            ))
        } else if chart.series.is_empty() || chart.series.len() > MAX_SERIES {
            Some(format!(
                "it has {} series (1 to {MAX_SERIES})",
                chart.series.len()
            ))
        } else {
            chart
                .series
                .iter()
                .find(|s| {
                    s.values.len() != chart.labels.len() || s.values.iter().any(|v| !v.is_finite())
                })
                .map(|s| {
                    format!(
                        "its series `{}` does not have one finite value per label",
                        self.clean(&s.name, 128)
                    )
                })
        };
        if let Some(why) = wrong {
            let message = format!("the chart `{title}` is left out of the report: {why}");
            self.scope.sink.emit(
                &self.scope.step,
                &self.scope.item,
                PluginEvent::Log {
                    level: events::LogLevel::Warn,
                    message,
                },
            );
            return;
        }
        let chart = events::Chart {
            title,
            unit: self.clean(&chart.unit, 32),
            labels: chart.labels.iter().map(|l| self.clean(l, 128)).collect(),
            series: chart
                .series
                .into_iter()
                .map(|s| events::ChartSeries {
                    name: self.clean(&s.name, 128),
                    values: s.values,
                })
                .collect(),
        };
        self.scope.sink.emit(
            &self.scope.step,
            &self.scope.item,
            PluginEvent::Chart(chart),
        );
    }
}
