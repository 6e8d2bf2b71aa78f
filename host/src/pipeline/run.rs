//! `ferry apply`: runs every database through every step, in waves, with a cap on databases in
//! flight, journaling after every step call so a killed run resumes where it stopped.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::Loaded;
use super::context::{ApplyOptions, RunContext};
use super::error::ApplyError;
use super::fingerprint::{changes, fingerprint};
use super::observer::Observer;
use super::run_item::run_item;
use super::run_log::RunLog;
use super::transition::Transition;
use crate::events::RunEvent;
pub use crate::events::RunSummary;
use crate::journal::{ItemRecord, ItemStatus, Journal, NewItem, RunStatus, SqliteJournal, now_ms};
use crate::redact::Redactor;
use crate::vault::Vault;

/// The state directory used when `--state-dir` is not given: `.ferry/<migration stem>` beside
/// the migration file.
pub fn default_state_dir(migration: &Path) -> PathBuf {
    let stem = migration
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "migration".into());
    migration
        .parent()
        .unwrap_or(Path::new("."))
        .join(".ferry")
        .join(stem)
}

pub fn journal_path(state_dir: &Path) -> PathBuf {
    state_dir.join("journal.db")
}

use crate::journal::SharedJournal;

/// Runs (or resumes) the migration.
pub async fn apply(
    loaded: Arc<Loaded>,
    opts: ApplyOptions,
    observer: Arc<dyn Observer>,
) -> Result<RunSummary, ApplyError> {
    let journal: Box<dyn Journal> =
        Box::new(SqliteJournal::open(&journal_path(&opts.state_dir)).map_err(ApplyError::Journal)?);
    let journal: SharedJournal = Arc::new(Mutex::new(journal));
    let fp = fingerprint(&loaded);
    let latest = journal.lock().latest_run().map_err(ApplyError::Journal)?;

    let (run_id, resumed) = match latest {
        Some(run) if !opts.fresh => {
            let diff = changes(&run.fingerprint, &fp);
            if !diff.is_empty() {
                return Err(ApplyError::InputsChanged {
                    run: run.id,
                    changes: diff,
                });
            }
            if run.status != RunStatus::Running {
                let items = journal.lock().items(&run.id).map_err(ApplyError::Journal)?;
                let mut s = summarize(&run.id, &items);
                s.resumed = true;
                s.already_finished = true;
                return Ok(s);
            }
            (run.id, true)
        }
        _ => {
            let id = new_run_id();
            let items = plan_items(&loaded);
            journal
                .lock()
                .create_run(
                    &id,
                    &loaded.migration.path.display().to_string(),
                    &fp,
                    &items,
                )
                .map_err(ApplyError::Journal)?;
            (id, false)
        }
    };

    let log = Arc::new(RunLog::new(&run_id, journal.clone(), observer.clone()));
    let items = log.journal(|j| j.items(&run_id))?;
    log.run_event(RunEvent::RunStarted {
        migration: loaded.migration.name.clone(),
        resumed,
        items: items.len(),
        done: items
            .iter()
            .filter(|i| i.status == ItemStatus::Done)
            .count(),
    });

    let redactor = Redactor::default();
    // Register every secret the granted labels use before any plugin runs, so a value that
    // comes back in a server message or a plugin string is masked even if no plugin opened it.
    for step in &loaded.migration.steps {
        for (_, r) in loaded.env.secret_refs_for(&step.grants) {
            if let Ok(v) = r.resolve() {
                redactor.register(&v);
            }
        }
    }
    let vault = Arc::new(Vault::new(loaded.env.secrets.clone(), redactor.clone()));
    let sql = Arc::new(crate::sql::SqlPools::new(&loaded.env, &redactor));
    let ctx = Arc::new(RunContext {
        sql,
        storage: Arc::new(crate::storage::Storage::new(&loaded.env, &redactor)),
        azure: Arc::new(crate::azure::ArmClients::new(&loaded.env, &redactor)),
        ops: Arc::default(),
        loaded: loaded.clone(),
        opts: opts.clone(),
        log: log.clone(),
        vault,
        redactor,
        run: run_id.clone(),
    });

    // Lanes: one per database, its items in step order; waves run one after another.
    let mut waves: BTreeMap<u32, BTreeMap<String, Vec<ItemRecord>>> = BTreeMap::new();
    for it in items {
        waves
            .entry(it.wave)
            .or_default()
            .entry(it.item.clone())
            .or_default()
            .push(it);
    }
    let permits = Arc::new(Semaphore::new(loaded.migration.limits.concurrency));
    for (_, lanes) in waves {
        let mut set = tokio::task::JoinSet::new();
        for (_, mut lane) in lanes {
            lane.sort_by_key(|i| i.step_index);
            let ctx = ctx.clone();
            let permits = permits.clone();
            set.spawn(async move {
                let _permit = permits.acquire_owned().await;
                run_lane(&ctx, lane).await
            });
        }
        while let Some(res) = set.join_next().await {
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => return Err(ApplyError::TaskEnded(e.to_string())),
            }
        }
    }

    let items = log.journal(|j| j.items(&run_id))?;
    let mut summary = summarize(&run_id, &items);
    summary.resumed = resumed;
    let status = if summary.failed > 0 {
        RunStatus::Failed
    } else {
        RunStatus::Finished
    };
    log.journal(|j| j.set_run_status(&run_id, status))?;
    log.run_event(RunEvent::RunFinished {
        done: summary.done,
        failed: summary.failed,
        skipped: summary.skipped,
    });
    Ok(summary)
}

fn summarize(run: &str, items: &[ItemRecord]) -> RunSummary {
    let count = |s: ItemStatus| items.iter().filter(|i| i.status == s).count();
    RunSummary {
        run: run.to_owned(),
        resumed: false,
        already_finished: false,
        done: count(ItemStatus::Done),
        failed: count(ItemStatus::Failed),
        skipped: count(ItemStatus::Skipped),
    }
}

fn new_run_id() -> String {
    let ms = now_ms();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("run-{ms}-{:04x}", (nanos ^ std::process::id()) & 0xffff)
}

fn plan_items(l: &Loaded) -> Vec<NewItem> {
    let mut out = Vec::new();
    for (w, wave) in l.migration.waves.iter().enumerate() {
        for db in &wave.databases {
            for (i, step) in l.migration.steps.iter().enumerate() {
                out.push(NewItem {
                    step: step.name.clone(),
                    step_index: i as u32,
                    item: db.clone(),
                    wave: w as u32,
                });
            }
        }
    }
    out
}

/// One database through its steps. A failed or skipped step skips the steps after it.
async fn run_lane(ctx: &RunContext, lane: Vec<ItemRecord>) -> Result<(), ApplyError> {
    let mut blocked: Option<String> = None;
    for mut item in lane {
        if item.status == ItemStatus::Done {
            continue;
        }
        if let Some(reason) = &blocked {
            if !item.status.is_final() {
                let skipped = Transition::Skipped {
                    reason: reason.clone(),
                };
                ctx.log.transition(&mut item, skipped)?;
            }
            continue;
        }
        let status = if item.status.is_final() {
            item.status
        } else {
            run_item(ctx, item.clone()).await?
        };
        if status != ItemStatus::Done {
            blocked = Some(format!(
                "step `{}` did not finish for this database",
                item.step
            ));
        }
    }
    Ok(())
}
