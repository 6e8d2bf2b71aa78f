//! `ferry plan`: runs every step against the real servers with mutating calls recorded instead
//! of run (see [`crate::plan`]), then writes the plan as JSON and text. `ferry apply plan.json`
//! (in `commands.rs`) reads it back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::common::{error, load_checked};
use super::{Exit, Global, PlanArgs, view};
use crate::events::{Envelope, LogLevel, RunEvent};
use crate::journal::{ItemStatus, Journal, SqliteJournal};
use crate::pipeline::fingerprint::fingerprint;
use crate::pipeline::run::journal_path;
use crate::pipeline::{self, ApplyOptions, Observer};
use crate::plan::file::FORMAT;
use crate::plan::{PlanFile, PlanGate, PlannedItem};

/// Where the plan goes unless `-o` says: `<migration stem>.plan.json` beside the migration.
pub fn default_plan_path(migration: &Path) -> PathBuf {
    let stem = migration
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "migration".into());
    migration.with_file_name(format!("{stem}.plan.json"))
}

pub(super) async fn plan(g: &Global, args: &PlanArgs) -> Exit {
    let loaded = match load_checked(
        g,
        &args.files.migration,
        args.files.environment.as_deref(),
        args.files.dev,
    )
    .await
    {
        Ok(l) => l,
        Err(code) => return code,
    };
    let inputs = fingerprint(&loaded);
    // The planning run gets a journal of its own, thrown away after: it must not look like a
    // run of the migration to a later `apply`.
    let scratch = match tempfile_dir() {
        Ok(d) => d,
        Err(e) => return error(g, Exit::Internal, &e),
    };
    let recorded: Arc<parking_lot::Mutex<Vec<_>>> = Arc::default();
    let gate = PlanGate::Record(recorded.clone());
    let opts = ApplyOptions {
        state_dir: scratch.clone(),
        scripts_dir: args
            .state_dir
            .clone()
            .unwrap_or_else(|| crate::pipeline::run::default_state_dir(&args.files.migration))
            .join("scripts")
            .join("plan"),
        fresh: true,
        log_level: if g.verbose > 0 {
            LogLevel::Debug
        } else {
            LogLevel::Info
        },
        gate: gate.clone(),
        retry_failed: false,
    };
    let loaded = Arc::new(loaded);
    let observer: Arc<dyn Observer> = Arc::new(PlanningView(view::for_output(g.json)));
    let result = pipeline::apply(loaded.clone(), opts, observer.clone()).await;
    observer.finish();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&scratch);
            return error(g, Exit::Internal, &e.to_string());
        }
    };
    let items = SqliteJournal::open(&journal_path(&scratch)).and_then(|j| j.items(&summary.run));
    let _ = std::fs::remove_dir_all(&scratch);
    let items = match items {
        Ok(i) => i,
        Err(e) => return error(g, Exit::Internal, &format!("planning journal: {e:#}")),
    };
    let recorded = recorded.lock().clone();
    let mut planned: Vec<PlannedItem> = items
        .iter()
        .map(|i| PlannedItem {
            step: i.step.clone(),
            item: i.item.clone(),
            wave: loaded.migration.wave_name(i.wave),
            outcome: match i.status {
                ItemStatus::Done => "ready",
                ItemStatus::Skipped => "skipped",
                _ => "stops",
            }
            .to_owned(),
            reason: i.error.clone(),
            actions: recorded
                .iter()
                .filter(|(s, it, _)| *s == i.step && *it == i.item)
                .map(|(_, _, a)| a.clone())
                .collect(),
        })
        .collect();
    planned.sort_by(|a, b| {
        let key = |p: &PlannedItem| {
            items
                .iter()
                .find(|i| i.step == p.step && i.item == p.item)
                .map(|i| (i.wave, i.item.clone(), i.step_index))
        };
        key(a).cmp(&key(b))
    });
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let file = PlanFile {
        format: FORMAT.to_owned(),
        migration: loaded.migration.name.clone(),
        migration_file: absolute(&loaded.migration.path),
        environment_file: absolute(&loaded.env.path),
        created_unix_ms: crate::journal::now_ms() as u64,
        inputs,
        items: planned,
    };
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| default_plan_path(&args.files.migration));
    let text_path = match file.write(&out) {
        Ok(p) => p,
        Err(e) => return error(g, Exit::Internal, &e),
    };
    let stops = file.items.iter().filter(|i| i.outcome != "ready").count();
    if g.json {
        view::print_json(&RunEvent::Plan {
            plan: out.clone(),
            text: text_path.clone(),
            items: file.items.len(),
            stops,
        });
    } else {
        outln!("{}", file.text().trim_end());
        outln!(
            "plan written to {} (text: {}); review it, then run `ferry apply {}`",
            out.display(),
            text_path.display(),
            out.display()
        );
    }
    if stops > 0 {
        Exit::ItemsFailed
    } else {
        Exit::Ok
    }
}

/// The planning run's progress without its "starting run" and "finished run" lines: that run
/// is a detail of planning (its journal is thrown away); the plan's summary says how it went.
struct PlanningView(Arc<dyn Observer>);

impl Observer for PlanningView {
    fn on(&self, e: &Envelope) {
        if !matches!(
            e.event,
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. }
        ) {
            self.0.on(e);
        }
    }

    fn finish(&self) {
        self.0.finish();
    }
}

fn tempfile_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "ferry-plan-{}-{}",
        std::process::id(),
        crate::journal::now_ms()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot make a planning directory {}: {e}", dir.display()))?;
    Ok(dir)
}
