//! One plugin call: a fresh `Store` from the plugin's `InstancePre`, limits on memory, time and
//! (optionally) fuel, the call itself, and a specific reason for every way it can go wrong.
//! The instance is dropped when the call returns; nothing survives but what the host journals.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::store::{CallScope, SCRATCH_GUEST_PATH, StepData};
use crate::bindings::types::{Outcome, PluginError, PluginInfo, StepContext, Warning};
use crate::bindings::{MigrationPluginPre, describe_plugin_error};
use crate::config::StepLimits;
use crate::runtime::plugin::LoadedPlugin;

/// The most a plugin's state may hold: the journal writes it after every call, and real
/// plugins keep kilobytes (ids, phases, file lists).
pub const MAX_STATE_BYTES: usize = 1 << 20;
/// The most a plugin's final output may hold.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// Error messages and wait reasons are cut to this length.
pub const MAX_MESSAGE_BYTES: usize = 16 << 10;
/// Limits for `describe` and `validate`, which do no I/O.
const QUICK_CALL: StepLimits = StepLimits {
    timeout_ms: 10_000,
    memory_bytes: 128 << 20,
    fuel: None,
    retries: Some(0),
    retry_window_ms: 0,
};

/// What a step call needs besides the plugin: its scope, limits and scratch directory.
pub struct StepCall {
    pub scope: Arc<CallScope>,
    pub limits: StepLimits,
    pub scratch: Option<PathBuf>,
}

/// Why a plugin call did not produce an outcome. `message()` is what a DBA reads.
#[derive(Debug, Clone)]
pub enum StepFailure {
    /// The plugin returned an error (already redacted).
    Plugin(PluginError),
    Timeout {
        limit_ms: u64,
    },
    OutOfMemory {
        limit_bytes: usize,
    },
    OutOfFuel {
        fuel: u64,
    },
    Panic {
        message: String,
    },
    Trap {
        message: String,
    },
    Oversized {
        what: &'static str,
        bytes: usize,
        limit: usize,
    },
    LeakedSecret {
        what: &'static str,
    },
    Host {
        message: String,
    },
}

impl StepFailure {
    /// Whether retrying the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StepFailure::Plugin(PluginError::Transient(_)))
    }

    pub fn message(&self) -> String {
        match self {
            StepFailure::Plugin(e) => describe_plugin_error(e),
            StepFailure::Timeout { limit_ms } => format!(
                "the plugin ran past its {} s limit for one step call and was stopped (an endless loop, or long work that should run as a host operation); raise `limits.timeout_seconds` only if the plugin is known to need it",
                *limit_ms as f64 / 1000.0
            ),
            StepFailure::OutOfMemory { limit_bytes } => format!(
                "the plugin tried to use more than its {} MiB memory limit and was stopped; raise `limits.memory_mb` only if the plugin is known to need it",
                limit_bytes >> 20
            ),
            StepFailure::OutOfFuel { fuel } => format!(
                "the plugin used all of its fuel ({fuel}) for one step call and was stopped; raise `limits.fuel` if it needs more"
            ),
            StepFailure::Panic { message } => format!("the plugin panicked: {message}"),
            StepFailure::Trap { message } => format!("the plugin crashed: {message}"),
            StepFailure::Oversized { what, bytes, limit } => format!(
                "the plugin returned a {what} of {bytes} bytes, over the limit of {limit} bytes"
            ),
            StepFailure::LeakedSecret { what } => format!(
                "the plugin put a secret value into its {what}; ferry refused to keep it (secrets go to T-SQL as sealed parameters, never into state or output)"
            ),
            StepFailure::Host { message } => message.clone(),
        }
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &s[..end], s.len() - end)
}

struct Prepared {
    store: Store<StepData>,
    timeout: Duration,
    fuel: Option<u64>,
}

/// Where a call runs: the shared engine, and whether its code meters fuel.
#[derive(Clone, Copy)]
pub(super) struct Engine<'a> {
    pub(super) engine: &'a wasmtime::Engine,
    pub(super) fuel: bool,
}

fn prepare(
    rt: Engine<'_>,
    scope: Arc<CallScope>,
    limits: &StepLimits,
    scratch: Option<&std::path::Path>,
) -> Result<Prepared, StepFailure> {
    let data =
        StepData::new(scope, limits.memory_bytes, scratch).map_err(|e| StepFailure::Host {
            message: format!("{e:#}"),
        })?;
    let mut store = Store::new(rt.engine, data);
    store.limiter(|d| &mut d.limiter);
    // Yield to tokio at every epoch tick: a spinning guest then cannot hold a worker thread,
    // and the tokio timeout below stops it at the deadline.
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let fuel = if rt.fuel {
        let f = limits.fuel.unwrap_or(u64::MAX);
        store.set_fuel(f).map_err(|e| StepFailure::Host {
            message: format!("{e}"),
        })?;
        limits.fuel
    } else {
        None
    };
    Ok(Prepared {
        store,
        timeout: Duration::from_millis(limits.timeout_ms),
        fuel,
    })
}

/// Runs `f` (instantiate and one export call) under the store's limits, turning every way it
/// can fail into a [`StepFailure`]. Guest stdout/stderr go to the log either way.
async fn guarded<T>(
    prepared: Prepared,
    pre: &MigrationPluginPre<StepData>,
    f: impl AsyncFnOnce(&crate::bindings::MigrationPlugin, &mut Store<StepData>) -> wasmtime::Result<T>,
) -> Result<T, StepFailure> {
    let Prepared {
        mut store,
        timeout,
        fuel,
    } = prepared;
    let result = tokio::time::timeout(timeout, async {
        let instance = pre.instantiate_async(&mut store).await?;
        f(&instance, &mut store).await
    })
    .await;
    let data = store.data();
    forward_stdio(data);
    match result {
        Err(_) => Err(StepFailure::Timeout {
            limit_ms: timeout.as_millis() as u64,
        }),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify_trap(e, data, fuel)),
    }
}

fn classify_trap(e: wasmtime::Error, data: &StepData, fuel: Option<u64>) -> StepFailure {
    if data.limiter.refused.is_some() {
        return StepFailure::OutOfMemory {
            limit_bytes: data.limiter.max_bytes,
        };
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>()
        && *trap == wasmtime::Trap::OutOfFuel
    {
        return StepFailure::OutOfFuel {
            fuel: fuel.unwrap_or(0),
        };
    }
    // A Rust guest's panic message is on its stderr ("panicked at src/lib.rs:1:2:\nmessage").
    let stderr = String::from_utf8_lossy(&data.stderr.contents()).into_owned();
    if let Some(pos) = stderr.find("panicked at") {
        let mut msg = stderr[pos..].lines().take(2).collect::<Vec<_>>().join(" ");
        // componentize-py turns an uncaught exception into this panic; the exception itself
        // is the traceback's last line, which is what the operator can act on.
        if let Some(exception) = python_exception(&stderr[..pos]) {
            msg = format!("{msg} (Python: {exception})");
        }
        return StepFailure::Panic {
            message: cut(&data.scope.redactor.redact(&msg), MAX_MESSAGE_BYTES),
        };
    }
    let text = format!("{e:#}");
    StepFailure::Trap {
        message: cut(&data.scope.redactor.redact(&text), MAX_MESSAGE_BYTES),
    }
}

/// The exception line of the last Python traceback in `stderr` (`KeyError: 'x'`): the first
/// unindented line after "Traceback (most recent call last):", as CPython prints it.
fn python_exception(stderr: &str) -> Option<&str> {
    let from = stderr.rfind("Traceback (most recent call last):")?;
    stderr[from..]
        .lines()
        .skip(1)
        .find(|l| !l.is_empty() && !l.starts_with(char::is_whitespace))
}

fn forward_stdio(data: &StepData) {
    use crate::events::{LogLevel, PluginEvent};
    for (pipe, level, name) in [
        (&data.stdout, LogLevel::Info, "stdout"),
        (&data.stderr, LogLevel::Warn, "stderr"),
    ] {
        let bytes = pipe.contents();
        if bytes.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines().filter(|l| !l.trim().is_empty()).take(200) {
            let message = format!(
                "[{name}] {}",
                cut(&data.scope.redactor.redact(line), MAX_MESSAGE_BYTES)
            );
            data.scope.sink.emit(
                &data.scope.step,
                &data.scope.item,
                PluginEvent::Log { level, message },
            );
        }
    }
}

pub(super) async fn describe(
    rt: Engine<'_>,
    pre: &MigrationPluginPre<StepData>,
) -> Result<PluginInfo, StepFailure> {
    let p = prepare(
        rt,
        Arc::new(CallScope::ungranted("describe")),
        &QUICK_CALL,
        None,
    )?;
    guarded(p, pre, async |i, s| {
        i.ferry_plugin_plugin().call_describe(s).await
    })
    .await
}

/// `validate`, with its warnings capped for the terminal.
pub(super) async fn validate(
    rt: Engine<'_>,
    plugin: &LoadedPlugin,
    step: &str,
    config: &str,
) -> Result<Vec<Warning>, StepFailure> {
    let p = prepare(rt, Arc::new(CallScope::ungranted(step)), &QUICK_CALL, None)?;
    let mut warnings = guarded(p, &plugin.pre, async |i, s| {
        i.ferry_plugin_plugin().call_validate(s, config).await
    })
    .await?
    .map_err(StepFailure::Plugin)?;
    // A plugin's warnings end up on a terminal: keep them few and short.
    warnings.truncate(100);
    for w in &mut warnings {
        w.message = cut(&w.message, 4096);
        w.key = w.key.as_deref().map(|k| cut(k, 256));
    }
    Ok(warnings)
}

/// `step`, its outcome checked before the caller journals it.
pub(super) async fn step(
    rt: Engine<'_>,
    plugin: &LoadedPlugin,
    call: &StepCall,
    ctx: StepContext,
    state: Option<&str>,
) -> Result<Outcome, StepFailure> {
    let (p, ctx) = prepare_item_call(rt, call, ctx)?;
    let redactor = call.scope.redactor.clone();
    let outcome = guarded(p, &plugin.pre, async |i, s| {
        i.ferry_plugin_plugin().call_step(s, &ctx, state).await
    })
    .await?
    .map_err(|e| StepFailure::Plugin(redact_error(&redactor, e)))?;
    check_outcome(&redactor, outcome)
}

/// `cleanup`, best effort.
pub(super) async fn cleanup(
    rt: Engine<'_>,
    plugin: &LoadedPlugin,
    call: &StepCall,
    ctx: StepContext,
    state: Option<&str>,
) -> Result<(), StepFailure> {
    let (p, ctx) = prepare_item_call(rt, call, ctx)?;
    guarded(p, &plugin.pre, async |i, s| {
        i.ferry_plugin_plugin().call_cleanup(s, &ctx, state).await
    })
    .await
}

/// A store for one of a work item's calls, and its context with the scratch directory as the
/// plugin sees it.
fn prepare_item_call(
    rt: Engine<'_>,
    call: &StepCall,
    mut ctx: StepContext,
) -> Result<(Prepared, StepContext), StepFailure> {
    ctx.scratch = call.scratch.as_ref().map(|_| SCRATCH_GUEST_PATH.to_owned());
    let p = prepare(
        rt,
        call.scope.clone(),
        &call.limits,
        call.scratch.as_deref(),
    )?;
    Ok((p, ctx))
}

fn redact_error(r: &crate::redact::Redactor, e: PluginError) -> PluginError {
    let fix = |s: String| cut(&r.redact(&s), MAX_MESSAGE_BYTES);
    match e {
        PluginError::InvalidConfig(mut p) => {
            p.message = fix(p.message);
            p.key = p.key.map(fix);
            PluginError::InvalidConfig(p)
        }
        PluginError::Denied(mut d) => {
            d.reason = fix(d.reason);
            d.label = fix(d.label);
            PluginError::Denied(d)
        }
        PluginError::Transient(mut f) => {
            f.message = fix(f.message);
            PluginError::Transient(f)
        }
        PluginError::Failed(mut f) => {
            f.message = fix(f.message);
            PluginError::Failed(f)
        }
        PluginError::Unsupported(m) => PluginError::Unsupported(fix(m)),
    }
}

fn check_outcome(r: &crate::redact::Redactor, outcome: Outcome) -> Result<Outcome, StepFailure> {
    let check = |what: &'static str, text: &str, limit: usize| {
        if text.len() > limit {
            return Err(StepFailure::Oversized {
                what,
                bytes: text.len(),
                limit,
            });
        }
        if r.leaks(text) {
            return Err(StepFailure::LeakedSecret { what });
        }
        Ok(())
    };
    match &outcome {
        Outcome::Next(s) => check("state", s, MAX_STATE_BYTES)?,
        Outcome::Done(o) => check("final output", o, MAX_OUTPUT_BYTES)?,
        Outcome::Wait(w) => {
            check("state", &w.state, MAX_STATE_BYTES)?;
            check("wait reason", &w.reason, MAX_MESSAGE_BYTES)?;
            if let crate::bindings::types::WaitFor::Operation(id) = &w.until {
                check("operation id", id, 1024)?;
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod python_tests {
    use super::python_exception;

    #[test]
    fn a_python_traceback_gives_its_exception_line() {
        let stderr = "Traceback (most recent call last):\n  File \"/app.py\", line 10, in step\n    x = config[\"nope\"]\n        ~~~~~~^^^^^^^^\nKeyError: 'nope'\nthread '<unnamed>' panicked at src/lib.rs:1:2:\n";
        assert_eq!(python_exception(stderr), Some("KeyError: 'nope'"));
        // The last traceback counts (an exception while handling another prints two).
        let two = "Traceback (most recent call last):\n  File \"a\"\nValueError: first\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"b\"\nRuntimeError: second\n";
        assert_eq!(python_exception(two), Some("RuntimeError: second"));
        assert_eq!(python_exception("panicked at src/lib.rs:1:2:\nboom"), None);
    }
}
