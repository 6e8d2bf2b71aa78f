//! One work item through its step: call the plugin, journal how the call ended, wait, call
//! again, until the step is done or failed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::context::RunContext;
use super::error::ApplyError;
use super::transition::Transition;
use crate::bindings::types::{Outcome, StepContext};
use crate::config::Step;
use crate::events::{LogLevel, PluginEvent, Progress, RunEvent};
use crate::journal::{ItemRecord, ItemStatus, WaitRecord, now_ms};
use crate::runtime::plugin::LoadedPlugin;
use crate::runtime::store::CallScope;
use crate::runtime::{StepCall, StepFailure};

/// One work item until done or failed; returns its status.
pub(super) async fn run_item(
    ctx: &RunContext,
    mut item: ItemRecord,
) -> Result<ItemStatus, ApplyError> {
    let Some(step) = ctx
        .loaded
        .migration
        .steps
        .iter()
        .find(|s| s.name == item.step)
    else {
        let error = "this step is no longer in the migration".to_owned();
        return ctx.log.transition(&mut item, Transition::Failed { error });
    };
    let caller = StepCaller::new(ctx, step, &item)?;
    // A call that was under way when ferry stopped, or that a run before this one deferred
    // after transient failures, is made again as a new attempt.
    let mut attempt = if item.in_call || item.status == ItemStatus::Deferred {
        item.attempt + 1
    } else {
        item.attempt.max(1)
    };
    let mut streak = TransientStreak::default();
    loop {
        if let Some(wait) = item.wait.clone() {
            if let Err(error) = wait_for(ctx, &item, &wait).await {
                return ctx.log.transition(&mut item, Transition::Failed { error });
            }
            ctx.log.transition(&mut item, Transition::WaitOver)?;
        }
        ctx.log
            .transition(&mut item, Transition::Started { attempt })?;
        let result = caller.step(&item, attempt).await;
        ctx.log.flush_progress(&item.step, &item.item);
        match result {
            Ok(outcome) => {
                if ctx.log.transition(&mut item, Transition::from(outcome))? == ItemStatus::Done {
                    return Ok(ItemStatus::Done);
                }
                attempt = 1;
                streak = TransientStreak::default();
            }
            Err(failure) if failure.is_transient() => {
                let error = failure.message();
                let Some(retry_in) = streak.next_pause(&step.limits) else {
                    let deferred = Transition::Deferred { attempt, error };
                    return ctx.log.transition(&mut item, deferred);
                };
                let retrying = Transition::Retrying {
                    attempt,
                    error,
                    retry_in,
                };
                ctx.log.transition(&mut item, retrying)?;
                tokio::time::sleep(retry_in).await;
                attempt += 1;
            }
            Err(failure) => {
                let error = failure.message();
                let status = ctx.log.transition(&mut item, Transition::Failed { error });
                caller.cleanup(&item, attempt, &failure).await;
                return status;
            }
        }
    }
}

/// Transient failures in a row, and when the first of them happened.
#[derive(Default)]
struct TransientStreak {
    retries: u32,
    since: Option<std::time::Instant>,
}

impl TransientStreak {
    /// The pause before the next retry: 1 s, 2 s, 4 s … capped at 60 s, while the step's retry
    /// window (and its `retries` cap, if set) allows one more; `None` once they are spent.
    fn next_pause(&mut self, limits: &crate::config::StepLimits) -> Option<Duration> {
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        if limits.retries.is_some_and(|cap| self.retries >= cap) {
            return None;
        }
        let pause = Duration::from_secs((1u64 << self.retries.min(6)).min(60));
        let window = Duration::from_millis(limits.retry_window_ms);
        // A retry must start inside the window; the pause is cut to its end.
        let left = window.checked_sub(since.elapsed())?;
        if left.is_zero() {
            return None;
        }
        self.retries += 1;
        Some(pause.min(left))
    }
}

/// What calling one item's step needs, set up once per item.
struct StepCaller<'a> {
    ctx: &'a RunContext,
    step: &'a Step,
    plugin: Arc<LoadedPlugin>,
    call: StepCall,
}

impl<'a> StepCaller<'a> {
    fn new(ctx: &'a RunContext, step: &'a Step, item: &ItemRecord) -> Result<Self, ApplyError> {
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
            scripts: step
                .grants
                .scripts
                .then(|| scripts_dir(&ctx.opts.scripts_dir, &step.name, &item.item)),
        });
        Ok(StepCaller {
            ctx,
            step,
            plugin: ctx.loaded.plugins[&step.plugin].clone(),
            call: StepCall {
                scope,
                limits: step.limits.clone(),
                scratch,
            },
        })
    }

    async fn step(&self, item: &ItemRecord, attempt: u32) -> Result<Outcome, StepFailure> {
        let context = self.context(item, attempt);
        let runtime = &self.ctx.loaded.runtime;
        runtime
            .step(&self.plugin, &self.call, context, item.state.as_deref())
            .await
    }

    /// Lets the plugin undo what a failed call left behind; a cleanup that fails is logged.
    async fn cleanup(&self, item: &ItemRecord, attempt: u32, failure: &StepFailure) {
        // A plugin that hung or ran out of memory would do the same again in cleanup.
        if matches!(
            failure,
            StepFailure::Timeout { .. }
                | StepFailure::OutOfMemory { .. }
                | StepFailure::OutOfFuel { .. }
        ) {
            return;
        }
        let context = self.context(item, attempt);
        let runtime = &self.ctx.loaded.runtime;
        if let Err(e) = runtime
            .cleanup(&self.plugin, &self.call, context, item.state.as_deref())
            .await
        {
            let warning = PluginEvent::Log {
                level: LogLevel::Warn,
                message: format!("cleanup failed: {}", e.message()),
            };
            let warning = RunEvent::Plugin(warning);
            self.ctx.log.item_event(&item.step, &item.item, warning);
        }
    }

    fn context(&self, item: &ItemRecord, attempt: u32) -> StepContext {
        StepContext {
            run_id: self.ctx.run.clone(),
            step: self.step.name.clone(),
            item: item.item.clone(),
            attempt,
            config: self.step.config.to_string(),
            scratch: None,
        }
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
/// `<scripts>/<step>/` for the instance's item, `<scripts>/<step>/<item>/` for a database's:
/// names made safe for a file system, as scratch directories are.
fn scripts_dir(root: &Path, step: &str, item: &str) -> PathBuf {
    let dir = root.join(safe_component(step));
    if item == crate::config::INSTANCE_ITEM {
        dir
    } else {
        dir.join(safe_component(item))
    }
}

/// A name as one path component: letters, digits, `-` and `_` kept, anything else `_`, and a
/// short hash of the whole so two names that clean to the same text stay apart.
fn safe_component(s: &str) -> String {
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
}

fn scratch_dir(state: &Path, run: &str, step: &str, item: &str) -> Result<PathBuf, ApplyError> {
    let safe = safe_component;
    let dir = state
        .join("scratch")
        .join(safe(run))
        .join(safe(step))
        .join(safe(item));
    if let Err(source) = std::fs::create_dir_all(&dir) {
        return Err(ApplyError::Scratch { dir, source });
    }
    Ok(dir)
}
