//! `ferry apply`: runs every database through every step, in waves, with a cap on databases in
//! flight, journaling after every step call so a killed run resumes where it stopped.

use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::Loaded;
use super::context::{ApplyOptions, RunContext};
use super::error::ApplyError;
use super::fingerprint::{changes, fingerprint, rebuilt_dev_plugins};
use super::observer::Observer;
use super::run_item::run_item;
use super::run_log::RunLog;
use super::transition::Transition;
use crate::config::{INSTANCE_ITEM, Scope};
use crate::events::RunEvent;
pub use crate::events::RunSummary;
use crate::journal::{
    ItemCounts, ItemRecord, ItemStatus, Journal, NewItem, RunLock, RunStatus, SqliteJournal,
    now_ms, this_process,
};
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

/// Databases read from the journal at a time while a wave is walked: enough to keep every
/// slot of the concurrency cap busy, small enough that memory does not follow the migration's
/// size.
const LANE_PAGE: usize = 256;

/// `--dev`: the unfinished items of the steps that use a rebuilt development plugin start
/// again from the beginning of their step; returns (plugin, items restarted) for the events.
fn restart_rebuilt(
    loaded: &Loaded,
    journal: &SharedJournal,
    run: &str,
    rebuilt: Vec<String>,
    fp: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(String, usize)>, ApplyError> {
    let mut out = Vec::new();
    for plugin in rebuilt {
        let steps: Vec<String> = loaded
            .migration
            .steps
            .iter()
            .filter(|s| s.plugin == plugin)
            .map(|s| s.name.clone())
            .collect();
        let items = journal
            .lock()
            .reopen_steps(run, &steps, fp)
            .map_err(ApplyError::Journal)?;
        out.push((plugin, items));
    }
    Ok(out)
}

/// Runs (or resumes) the migration.
pub async fn apply(
    loaded: Arc<Loaded>,
    opts: ApplyOptions,
    observer: Arc<dyn Observer>,
) -> Result<RunSummary, ApplyError> {
    // Held until this function returns; the OS drops it if the process dies.
    let _lock =
        RunLock::acquire(&opts.state_dir, &this_process(now_ms())).map_err(ApplyError::Locked)?;
    let journal: Box<dyn Journal> =
        Box::new(SqliteJournal::open(&journal_path(&opts.state_dir)).map_err(ApplyError::Journal)?);
    let journal: SharedJournal = Arc::new(Mutex::new(journal));
    let fp = fingerprint(&loaded);
    let latest = journal.lock().latest_run().map_err(ApplyError::Journal)?;

    let mut restarted = Vec::new();
    let (run_id, resumed) = match latest {
        Some(run) if !opts.fresh => {
            let diff = changes(&run.fingerprint, &fp);
            if !diff.is_empty() {
                return Err(ApplyError::InputsChanged {
                    run: run.id,
                    changes: diff,
                });
            }
            let rebuilt = rebuilt_dev_plugins(&run.fingerprint, &fp);
            let run = if rebuilt.is_empty() {
                run
            } else {
                restarted = restart_rebuilt(&loaded, &journal, &run.id, rebuilt, &fp)?;
                // Reopened items put a finished run back to running.
                journal
                    .lock()
                    .latest_run()
                    .map_err(ApplyError::Journal)?
                    .unwrap_or(run)
            };
            if opts.retry_failed {
                journal
                    .lock()
                    .reopen_failed(&run.id)
                    .map_err(ApplyError::Journal)?;
            } else if run.status != RunStatus::Running {
                let counts = journal
                    .lock()
                    .counts(&run.id)
                    .map_err(ApplyError::Journal)?;
                let mut s = summarize(&run.id, counts);
                s.resumed = true;
                s.already_finished = true;
                return Ok(s);
            }
            (run.id, true)
        }
        _ => {
            let id = new_run_id();
            journal
                .lock()
                .create_run(
                    &id,
                    &loaded.migration.path.display().to_string(),
                    &fp,
                    &mut work_items(&loaded),
                )
                .map_err(ApplyError::Journal)?;
            (id, false)
        }
    };

    let log = Arc::new(RunLog::new(&run_id, journal.clone(), observer.clone()));
    let counts = log.journal(|j| j.counts(&run_id))?;
    log.run_event(RunEvent::RunStarted {
        migration: loaded.migration.name.clone(),
        resumed,
        items: counts.total,
        done: counts.done,
    });
    for (plugin, items) in restarted {
        log.run_event(RunEvent::PluginRebuilt { plugin, items });
    }

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

    // Waves run one after another; in a wave, one lane per database (its items in step order),
    // at most `concurrency` at once. A lane's items are read from the journal when it starts,
    // and a wave's databases a page at a time, so memory follows the concurrency cap, not the
    // number of databases.
    let permits = Arc::new(Semaphore::new(loaded.migration.limits.concurrency));
    for wave in log.journal(|j| j.waves(&run_id))? {
        let mut set = tokio::task::JoinSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = log.journal(|j| j.lanes(&run_id, wave, after.as_deref(), LANE_PAGE))?;
            let Some(last) = page.last().cloned() else {
                break;
            };
            for database in page {
                // Waiting for a slot before spawning keeps the number of lanes alive bounded.
                let permit = permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| ApplyError::TaskEnded(e.to_string()))?;
                let ctx = ctx.clone();
                set.spawn(async move {
                    let _permit = permit;
                    let lane = ctx.log.journal(|j| j.lane(&ctx.run, wave, &database))?;
                    run_lane(&ctx, lane).await
                });
                while let Some(res) = set.try_join_next() {
                    lane_ended(res)?;
                }
            }
            after = Some(last);
        }
        while let Some(res) = set.join_next().await {
            lane_ended(res)?;
        }
    }

    let counts = log.journal(|j| j.counts(&run_id))?;
    let mut summary = summarize(&run_id, counts);
    summary.resumed = resumed;
    // A run with items still open (deferred, and the steps waiting behind them) stays running,
    // so the next `ferry apply` resumes it.
    let status = if counts.open() > 0 {
        RunStatus::Running
    } else if summary.failed + summary.skipped > 0 {
        RunStatus::Failed
    } else {
        RunStatus::Finished
    };
    log.journal(|j| j.set_run_status(&run_id, status))?;
    log.run_event(RunEvent::RunFinished {
        done: summary.done,
        failed: summary.failed,
        skipped: summary.skipped,
        deferred: summary.deferred,
    });
    Ok(summary)
}

/// A lane's task ended: its error ends the run; a panic is a ferry bug, said as one.
fn lane_ended(
    res: Result<Result<(), ApplyError>, tokio::task::JoinError>,
) -> Result<(), ApplyError> {
    match res {
        Ok(r) => r,
        Err(e) => Err(ApplyError::TaskEnded(e.to_string())),
    }
}

fn summarize(run: &str, counts: ItemCounts) -> RunSummary {
    RunSummary {
        run: run.to_owned(),
        resumed: false,
        already_finished: false,
        done: counts.done,
        failed: counts.failed,
        skipped: counts.skipped,
        deferred: counts.deferred,
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

/// Every work item, in wave order, made as the journal writes them: the instance steps that
/// come first (one item, in a wave of its own), each database × database step, then the
/// instance steps that come last (after the last wave).
fn work_items(l: &Loaded) -> impl Iterator<Item = NewItem> + '_ {
    let m = &l.migration;
    let steps = || m.steps.iter().enumerate();
    let first_database = steps().position(|(_, s)| s.scope == Scope::Database);
    let instance = move |range: std::ops::Range<usize>, wave: u32| {
        steps()
            .skip(range.start)
            .take(range.len())
            .filter(|(_, s)| s.scope == Scope::Instance)
            .map(move |(i, step)| NewItem {
                step: step.name.clone(),
                step_index: i as u32,
                item: INSTANCE_ITEM.to_owned(),
                wave,
            })
    };
    let databases = m.waves.iter().enumerate().flat_map(move |(w, wave)| {
        wave.databases.iter().flat_map(move |db| {
            steps()
                .filter(|(_, s)| s.scope == Scope::Database)
                .map(move |(i, step)| NewItem {
                    step: step.name.clone(),
                    step_index: i as u32,
                    item: db.clone(),
                    wave: m.stored_wave(w),
                })
        })
    });
    let n = m.steps.len();
    let (first, last) = match first_database {
        Some(f) => (0..f, f..n),
        None => (0..n, n..n),
    };
    instance(first, 0)
        .chain(databases)
        .chain(instance(last, m.last_stored_wave()))
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
        if status == ItemStatus::Deferred {
            // The steps after it stay pending: the next `ferry apply` continues the lane.
            return Ok(());
        }
        if status != ItemStatus::Done {
            blocked = Some(format!(
                "step `{}` did not finish for this database",
                item.step
            ));
        }
    }
    Ok(())
}
