//! Turns the WIT-level calls (JSON config and state) into typed [`Plugin`] calls. Shared by the
//! wasm adapter and the fake host, so native tests exercise the same path as the real host.

use crate::bindings::ferry::plugin::types::{
    Outcome as WitOutcome, WaitFor as WitWaitFor, WaitRequest,
};
use crate::context::Context;
use crate::errors::{Error, Result};
use crate::host::Host;
use crate::plugin::{Outcome, Plugin, WaitFor};
use crate::wit::StepContext;

/// Parses a step config (JSON) into the plugin's config type, naming the key at fault.
pub fn parse_config<C: serde::de::DeserializeOwned>(json: &str) -> Result<C> {
    serde_json::from_str(json).map_err(|e| Error::invalid_config(None, format!("{e}")))
}

fn parse_state<S: serde::de::DeserializeOwned + Default>(state: Option<&str>) -> Result<S> {
    match state {
        None => Ok(S::default()),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            Error::failed(format!(
                "the journaled state does not match this plugin version's state type ({e}); \
                 was the plugin changed in the middle of a run?"
            ))
        }),
    }
}

fn encode_state<S: serde::Serialize>(state: &S) -> Result<String> {
    serde_json::to_string(state)
        .map_err(|e| Error::failed(format!("cannot serialize the plugin state: {e}")))
}

/// Runs one `step` call of plugin `P` against `host`, with JSON in and out as the WIT has it.
pub fn run_step<P: Plugin>(
    host: &mut dyn Host,
    ctx: StepContext,
    state: Option<&str>,
) -> Result<WitOutcome> {
    let config: P::Config = parse_config(&ctx.config)?;
    let state: P::State = parse_state(state)?;
    let mut cx = Context::new(config, ctx, host);
    Ok(match P::step(&mut cx, state)? {
        Outcome::Next(s) => WitOutcome::Next(encode_state(&s)?),
        Outcome::Done(output) => WitOutcome::Done(output.to_string()),
        Outcome::Wait {
            until,
            state,
            reason,
        } => WitOutcome::Wait(WaitRequest {
            until: match until {
                WaitFor::Duration(d) => {
                    WitWaitFor::DurationMs(d.as_millis().min(u64::MAX as u128) as u64)
                }
                WaitFor::UntilUnixMs(t) => WitWaitFor::UntilUnixMs(t),
                WaitFor::Operation(id) => WitWaitFor::Operation(id),
            },
            state: encode_state(&state)?,
            reason,
        }),
    })
}

/// Runs plugin `P`'s `cleanup` against `host`. Errors are logged, never returned: cleanup is best effort.
pub fn run_cleanup<P: Plugin>(host: &mut dyn Host, ctx: StepContext, state: Option<&str>) {
    let config: P::Config = match parse_config(&ctx.config) {
        Ok(c) => c,
        Err(e) => {
            return host.log(
                crate::wit::Level::Warn,
                &format!("cleanup skipped: {}", e.describe()),
            );
        }
    };
    let state: P::State = match parse_state(state) {
        Ok(s) => s,
        Err(e) => {
            return host.log(
                crate::wit::Level::Warn,
                &format!("cleanup skipped: {}", e.describe()),
            );
        }
    };
    let mut cx = Context::new(config, ctx, host);
    P::cleanup(&mut cx, state);
}
