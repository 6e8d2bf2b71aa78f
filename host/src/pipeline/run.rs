//! `ferry apply`: runs every database through every step, in waves, with a cap on databases in
//! flight, journaling after every step call so a killed run resumes where it stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::Loaded;
use super::fingerprint::{changes, fingerprint};
use super::observer::Observer;
use super::run_log::RunLog;
use crate::bindings::types::{Outcome, StepContext, WaitFor};
use crate::caps::secrets::Vault;
use crate::config::Step;
use crate::events::{LogLevel, PluginEvent, Progress, RunEvent};
use crate::journal::{
    CallEnd, ItemRecord, ItemStatus, Journal, NewItem, RunStatus, SqliteJournal, WaitRecord, now_ms,
};
use crate::redact::Redactor;
use crate::runtime::store::CallScope;
use crate::runtime::{StepCall, StepFailure};

/// How to run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Holds the journal and scratch directories.
    pub state_dir: PathBuf,
    /// Start a new run even if the last one is unfinished or finished.
    pub fresh: bool,
    /// Plugin log lines below this level are dropped.
    pub log_level: LogLevel,
    /// Off for a plain apply; Record for `ferry plan`; Enforce for `ferry apply plan.json`.
    pub gate: crate::plan::PlanGate,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub run: String,
    pub resumed: bool,
    /// The run had already finished; nothing was done.
    pub already_finished: bool,
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the migration's inputs changed since run {run} started: {}. Revert the change to resume that run, or start a new run with `ferry apply --fresh`", changes.join("; "))]
    InputsChanged { run: String, changes: Vec<String> },
    #[error("journal: {0:#}")]
    Journal(anyhow::Error),
}

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
    let latest = journal
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .latest_run()
        .map_err(ApplyError::Journal)?;

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
                let items = journal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .items(&run.id)
                    .map_err(ApplyError::Journal)?;
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
                .unwrap_or_else(|e| e.into_inner())
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
                Err(e) => {
                    return Err(ApplyError::Journal(anyhow::anyhow!(
                        "a work item's task ended abnormally: {e}"
                    )));
                }
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

struct RunContext {
    sql: Arc<crate::sql::SqlPools>,
    ops: Arc<crate::operations::Operations>,
    storage: Arc<crate::storage::Storage>,
    azure: Arc<crate::azure::ArmClients>,
    loaded: Arc<Loaded>,
    opts: ApplyOptions,
    log: Arc<RunLog>,
    vault: Arc<Vault>,
    redactor: Redactor,
    run: String,
}

/// One database through its steps. A failed or skipped step skips the steps after it.
async fn run_lane(ctx: &RunContext, lane: Vec<ItemRecord>) -> Result<(), ApplyError> {
    let mut blocked: Option<String> = None;
    for item in lane {
        if item.status == ItemStatus::Done {
            continue;
        }
        if let Some(reason) = &blocked {
            if !item.status.is_final() {
                ctx.log.journal(|j| j.skip(item.id, reason))?;
                let skipped = RunEvent::ItemSkipped {
                    reason: reason.clone(),
                };
                ctx.log.item_event(&item.step, &item.item, skipped);
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

/// One work item until done or failed: call, journal, wait, call again.
async fn run_item(ctx: &RunContext, mut item: ItemRecord) -> Result<ItemStatus, ApplyError> {
    let l = &ctx.loaded;
    let Some(step) = l.migration.steps.iter().find(|s| s.name == item.step) else {
        return fail(ctx, &item, "this step is no longer in the migration".into());
    };
    let plugin = l.plugins[&step.plugin].clone();
    let scratch = if step.grants.scratch {
        Some(scratch_dir(
            &ctx.opts.state_dir,
            &ctx.run,
            &step.name,
            &item.item,
        )?)
    } else {
        None
    };
    let scope = Arc::new(CallScope {
        step: step.name.clone(),
        item: item.item.clone(),
        grants: step.grants.clone(),
        vault: ctx.vault.clone(),
        redactor: ctx.redactor.clone(),
        sink: ctx.log.clone(),
        min_level: ctx.opts.log_level,
        sql: ctx.sql.clone(),
        ops: ctx.ops.clone(),
        storage: ctx.storage.clone(),
        azure: ctx.azure.clone(),
        signals: crate::signals::Signals::new(&ctx.run, ctx.log.journal.clone()),
        plan: ctx.opts.gate.clone(),
    });
    let call = StepCall {
        scope,
        limits: step.limits.clone(),
        scratch,
    };

    // A call that was under way when ferry stopped is made again, as a new attempt.
    let mut attempt = if item.in_call {
        item.attempt + 1
    } else {
        item.attempt.max(1)
    };
    let mut transient_failures = 0u32;
    loop {
        if let Some(wait) = item.wait.clone() {
            if let Err(reason) = wait_for(ctx, &item, &wait).await {
                return fail(ctx, &item, reason);
            }
            ctx.log.journal(|j| j.clear_wait(item.id))?;
            item.wait = None;
        }
        ctx.log.journal(|j| j.begin_call(item.id, attempt))?;
        let started = RunEvent::ItemStarted {
            attempt,
            call: item.calls + 1,
        };
        ctx.log.item_event(&item.step, &item.item, started);
        item.calls += 1;
        let context = step_context(ctx, step, &item, attempt);
        let result = l
            .runtime
            .step(&plugin, &call, context, item.state.as_deref())
            .await;
        ctx.log.flush_progress(&item.step, &item.item);
        match result {
            Ok(Outcome::Next(state)) => {
                ctx.log.journal(|j| {
                    j.end_call(
                        item.id,
                        &CallEnd::Next {
                            state: state.clone(),
                        },
                    )
                })?;
                item.state = Some(state);
                attempt = 1;
                transient_failures = 0;
            }
            Ok(Outcome::Wait(w)) => {
                let wait = WaitRecord {
                    until_unix_ms: match &w.until {
                        WaitFor::DurationMs(ms) => Some((now_ms() as u64).saturating_add(*ms)),
                        WaitFor::UntilUnixMs(t) => Some(*t),
                        WaitFor::Operation(_) => None,
                    },
                    operation: match &w.until {
                        WaitFor::Operation(id) => Some(id.clone()),
                        _ => None,
                    },
                    reason: w.reason.clone(),
                };
                ctx.log.journal(|j| {
                    j.end_call(
                        item.id,
                        &CallEnd::Wait {
                            state: w.state.clone(),
                            wait: wait.clone(),
                        },
                    )
                })?;
                let waiting = RunEvent::ItemWaiting(wait.clone());
                ctx.log.item_event(&item.step, &item.item, waiting);
                item.state = Some(w.state);
                item.wait = Some(wait);
                attempt = 1;
                transient_failures = 0;
            }
            Ok(Outcome::Done(output)) => {
                ctx.log.journal(|j| {
                    j.end_call(
                        item.id,
                        &CallEnd::Done {
                            output: output.clone(),
                        },
                    )
                })?;
                let output: Value = serde_json::from_str(&output).unwrap_or(Value::String(output));
                let calls = item.calls;
                let done = RunEvent::ItemDone { calls, output };
                ctx.log.item_event(&item.step, &item.item, done);
                return Ok(ItemStatus::Done);
            }
            Err(failure) if failure.is_transient() && transient_failures < step.limits.retries => {
                transient_failures += 1;
                let error = failure.message();
                ctx.log.journal(|j| {
                    j.end_call(
                        item.id,
                        &CallEnd::Retry {
                            error: error.clone(),
                        },
                    )
                })?;
                let delay = backoff(transient_failures);
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                let retry = RunEvent::ItemRetry {
                    attempt,
                    error,
                    retry_in_ms,
                };
                ctx.log.item_event(&item.step, &item.item, retry);
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(failure) => {
                let error = failure.message();
                let state = item.state.clone();
                let status = fail(ctx, &item, error);
                cleanup(
                    ctx,
                    step,
                    &plugin,
                    &call,
                    &item,
                    attempt,
                    state.as_deref(),
                    &failure,
                )
                .await;
                return status;
            }
        }
    }
}

/// 1 s, 2 s, 4 s … capped at 30 s: long enough for a dropped connection or a throttled API to
/// recover, short enough that a retried item does not stall a wave.
fn backoff(n: u32) -> Duration {
    Duration::from_secs((1u64 << n.saturating_sub(1).min(5)).min(30))
}

fn fail(ctx: &RunContext, item: &ItemRecord, error: String) -> Result<ItemStatus, ApplyError> {
    ctx.log.journal(|j| {
        j.end_call(
            item.id,
            &CallEnd::Failed {
                error: error.clone(),
            },
        )
    })?;
    let failed = RunEvent::ItemFailed { error };
    ctx.log.item_event(&item.step, &item.item, failed);
    Ok(ItemStatus::Failed)
}

#[allow(clippy::too_many_arguments)]
async fn cleanup(
    ctx: &RunContext,
    step: &Step,
    plugin: &crate::runtime::plugin::LoadedPlugin,
    call: &StepCall,
    item: &ItemRecord,
    attempt: u32,
    state: Option<&str>,
    failure: &StepFailure,
) {
    // A plugin that hung or ran out of memory would do the same again in cleanup.
    if matches!(
        failure,
        StepFailure::Timeout { .. }
            | StepFailure::OutOfMemory { .. }
            | StepFailure::OutOfFuel { .. }
    ) {
        return;
    }
    let context = step_context(ctx, step, item, attempt);
    if let Err(e) = ctx
        .loaded
        .runtime
        .cleanup(plugin, call, context, state)
        .await
    {
        let warning = PluginEvent::Log {
            level: LogLevel::Warn,
            message: format!("cleanup failed: {}", e.message()),
        };
        let warning = RunEvent::Plugin(warning);
        ctx.log.item_event(&item.step, &item.item, warning);
    }
}

fn step_context(ctx: &RunContext, step: &Step, item: &ItemRecord, attempt: u32) -> StepContext {
    StepContext {
        run_id: ctx.run.clone(),
        step: step.name.clone(),
        item: item.item.clone(),
        attempt,
        config: step.config.to_string(),
        scratch: None,
    }
}

/// Waits for a journaled condition; on resume only the time left is waited.
async fn wait_for(ctx: &RunContext, item: &ItemRecord, wait: &WaitRecord) -> Result<(), String> {
    if let Some(op) = &wait.operation {
        // Progress of the operation is the item's progress meanwhile. An operation this
        // process does not know (ferry restarted) ends the wait at once: the plugin's next
        // `operations.status` says so and it re-checks the server.
        ctx.ops
            .wait(op, |status| {
                let progress = RunEvent::Plugin(PluginEvent::Progress(Progress::from(status)));
                ctx.log.item_event(&item.step, &item.item, progress)
            })
            .await;
        return Ok(());
    }
    // A plan only records: a pause between changes that were not made is pointless.
    if ctx.opts.gate.planning() {
        return Ok(());
    }
    if let Some(until) = wait.until_unix_ms {
        let left = (until as i64).saturating_sub(now_ms());
        if left > 0 {
            tracing::debug!(step = %item.step, item = %item.item, "waiting {left} ms: {}", wait.reason);
            tokio::time::sleep(Duration::from_millis(left as u64)).await;
        }
    }
    Ok(())
}

/// A private scratch directory per run, step and item. Names are sanitised: a database name
/// cannot climb out of the state directory.
fn scratch_dir(state: &Path, run: &str, step: &str, item: &str) -> Result<PathBuf, ApplyError> {
    let safe = |s: &str| -> String {
        let cleaned: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let hash = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(s.as_bytes())[..4]);
        format!("{cleaned}-{hash}")
    };
    let dir = state
        .join("scratch")
        .join(safe(run))
        .join(safe(step))
        .join(safe(item));
    std::fs::create_dir_all(&dir).map_err(|e| {
        ApplyError::Journal(anyhow::anyhow!(
            "cannot create scratch directory {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}
