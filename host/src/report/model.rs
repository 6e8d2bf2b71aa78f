//! What a run report holds, built from the journal: per database (method, size, time per phase,
//! outcome and reason) and per object row.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::events::{Chart, ObjectRow, PluginEvent, RunEvent};
use crate::journal::{ItemStatus, Journal};

/// A whole run.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub migration: String,
    pub run: String,
    pub started_unix_ms: i64,
    pub finished_unix_ms: i64,
    pub done: usize,
    pub failed: usize,
    pub other: usize,
    pub databases: Vec<DatabaseReport>,
    /// Every object row the plugins reported, in order.
    pub objects: Vec<ObjectReport>,
    /// Every chart the plugins drew, in order.
    pub charts: Vec<ChartReport>,
}

/// One database across its steps.
#[derive(Debug, Serialize)]
pub struct DatabaseReport {
    pub name: String,
    pub wave: String,
    /// `done`, `failed`, `skipped` or `pending`: the worst of its steps.
    pub outcome: String,
    /// The first failing step's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// From the steps' output, when they say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Wall time from its first step call to its last event.
    pub duration_ms: i64,
    /// (phase, milliseconds) as the steps reported them.
    pub phases: Vec<(String, u64)>,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Serialize)]
pub struct StepReport {
    pub step: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A `report.add-row` row, with the database and step it belongs to.
#[derive(Debug, Serialize)]
pub struct ObjectReport {
    pub database: String,
    pub step: String,
    #[serde(flatten)]
    pub row: ObjectRow,
}

/// A `report.add-chart` chart, with the database and step it belongs to.
#[derive(Debug, Serialize)]
pub struct ChartReport {
    pub database: String,
    pub step: String,
    #[serde(flatten)]
    pub chart: Chart,
}

fn status_name(s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Done => "done",
        ItemStatus::Failed => "failed",
        ItemStatus::Skipped => "skipped",
        ItemStatus::Deferred => "deferred",
        _ => "pending",
    }
}

/// How long each (item, step) waited: from each wait the step asked for to the call after
/// it. One pass over the run's events, however many databases it has.
fn waited_ms(events: &[crate::journal::EventRecord]) -> HashMap<(&str, &str), u64> {
    let mut since: HashMap<(&str, &str), i64> = HashMap::new();
    let mut total: HashMap<(&str, &str), u64> = HashMap::new();
    for e in events {
        let (Some(item), Some(step)) = (e.item.as_deref(), e.step.as_deref()) else {
            continue;
        };
        match &e.event {
            RunEvent::ItemWaiting(_) => {
                since.entry((item, step)).or_insert(e.at_ms);
            }
            RunEvent::ItemStarted { .. } => {
                if let Some(t) = since.remove(&(item, step)) {
                    *total.entry((item, step)).or_default() += (e.at_ms - t).max(0) as u64;
                }
            }
            _ => {}
        }
    }
    total
}

impl RunReport {
    /// Builds the report of `run` from the journal.
    pub fn build(
        journal: &dyn Journal,
        run: &str,
        migration: &crate::config::Migration,
    ) -> anyhow::Result<RunReport> {
        let items = journal.items(run)?;
        let events = journal.events(run)?;
        let wave_name = |w: u32| migration.wave_name(w);
        let mut by_db: BTreeMap<(u32, String), Vec<&crate::journal::ItemRecord>> = BTreeMap::new();
        for i in &items {
            by_db.entry((i.wave, i.item.clone())).or_default().push(i);
        }
        let waited = waited_ms(&events);
        let mut databases = Vec::new();
        for ((wave, name), mut steps) in by_db {
            steps.sort_by_key(|i| i.step_index);
            let mine: Vec<i64> = events
                .iter()
                .filter(|e| e.item.as_deref() == Some(name.as_str()))
                .map(|e| e.at_ms)
                .collect();
            let duration_ms = match (mine.iter().min(), mine.iter().max()) {
                (Some(a), Some(b)) => b - a,
                _ => 0,
            };
            let worst = steps
                .iter()
                .map(|i| i.status)
                .max_by_key(|s| match s {
                    ItemStatus::Failed => 4,
                    ItemStatus::Skipped => 3,
                    ItemStatus::Deferred => 2,
                    ItemStatus::Done => 0,
                    _ => 1,
                })
                .unwrap_or(ItemStatus::Done);
            let output = |key: &str| {
                steps
                    .iter()
                    .find_map(|i| i.output.as_ref()?.get(key).cloned())
            };
            let timed: Vec<(String, u64)> = output("phases")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|p| Some((p["phase"].as_str()?.to_owned(), p["ms"].as_u64()?)))
                .collect();
            // A step that times no phases of its own (a gate, a check) still shows the time its
            // database spent waiting in it; a step that does already counts its waits.
            let mut phases: Vec<(String, u64)> = steps
                .iter()
                .filter(|i| i.output.as_ref().is_none_or(|o| o.get("phases").is_none()))
                .map(|i| {
                    let ms = waited
                        .get(&(name.as_str(), i.step.as_str()))
                        .copied()
                        .unwrap_or(0);
                    (format!("{} (waiting)", i.step), ms)
                })
                .filter(|(_, ms)| *ms > 0)
                .collect();
            phases.extend(timed);
            databases.push(DatabaseReport {
                name: name.clone(),
                wave: wave_name(wave),
                outcome: status_name(worst).to_owned(),
                // A done step's error is one it got past (a transient failure retried): the
                // reason is the first step that did not finish.
                reason: steps
                    .iter()
                    .filter(|i| i.status != ItemStatus::Done)
                    .find_map(|i| i.error.clone()),
                method: output("method").and_then(|v| v.as_str().map(str::to_owned)),
                size_bytes: output("size_bytes").and_then(|v| v.as_u64()),
                duration_ms,
                phases,
                steps: steps
                    .iter()
                    .map(|i| StepReport {
                        step: i.step.clone(),
                        status: status_name(i.status).to_owned(),
                        reason: i.error.clone().filter(|_| i.status != ItemStatus::Done),
                    })
                    .collect(),
            });
        }
        let objects = events
            .iter()
            .filter_map(|e| match &e.event {
                RunEvent::Plugin(PluginEvent::Row(row)) => Some(ObjectReport {
                    database: e.item.clone().unwrap_or_default(),
                    step: e.step.clone().unwrap_or_default(),
                    row: row.clone(),
                }),
                _ => None,
            })
            .collect();
        let charts = events
            .iter()
            .filter_map(|e| match &e.event {
                RunEvent::Plugin(PluginEvent::Chart(chart)) => Some(ChartReport {
                    database: e.item.clone().unwrap_or_default(),
                    step: e.step.clone().unwrap_or_default(),
                    chart: chart.clone(),
                }),
                _ => None,
            })
            .collect();
        let count = |o: &str| databases.iter().filter(|d| d.outcome == o).count();
        Ok(RunReport {
            migration: migration.name.clone(),
            run: run.to_owned(),
            started_unix_ms: events.first().map_or(0, |e| e.at_ms),
            finished_unix_ms: events.last().map_or(0, |e| e.at_ms),
            done: count("done"),
            failed: count("failed"),
            other: databases.len() - count("done") - count("failed"),
            databases,
            objects,
            charts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::WaitRecord;
    use crate::journal::EventRecord;

    fn event(at_ms: i64, item: &str, step: &str, event: RunEvent) -> EventRecord {
        EventRecord {
            seq: at_ms,
            at_ms,
            step: Some(step.into()),
            item: Some(item.into()),
            kind: String::new(),
            event,
        }
    }

    #[test]
    fn a_wait_lasts_from_the_wait_to_the_call_after_it() {
        let wait = || {
            RunEvent::ItemWaiting(WaitRecord {
                until_unix_ms: None,
                operation: None,
                reason: "ticket pending".into(),
            })
        };
        let started = || RunEvent::ItemStarted {
            attempt: 1,
            call: 1,
        };
        let events = [
            event(1_000, "Sales", "gate", started()),
            event(1_100, "Sales", "gate", wait()),
            event(1_200, "HR", "gate", started()),
            event(4_100, "Sales", "gate", started()),
            event(4_200, "Sales", "gate", wait()),
            event(4_300, "Sales", "restore", started()),
            event(5_200, "Sales", "gate", started()),
            // Still waiting at the end of the journal: not counted (no call after it yet).
            event(6_000, "Sales", "gate", wait()),
        ];
        let waited = waited_ms(&events);
        assert_eq!(waited.get(&("Sales", "gate")), Some(&(3_000 + 1_000)));
        assert_eq!(waited.get(&("Sales", "restore")), None);
        assert_eq!(waited.get(&("HR", "gate")), None);
    }
}
