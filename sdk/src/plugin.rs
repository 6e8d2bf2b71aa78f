//! The [`Plugin`] trait every plugin implements, and the [`Outcome`] of a step.

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::ferry::plugin::types::{
    Access, CapabilityKind, CapabilityNeed, PluginInfo, Warning,
};
use crate::context::Context;
use crate::errors::Result;

/// A ferry migration plugin: a resumable state machine run once per work item.
///
/// Only [`Plugin::step`] and the three constants are required; everything else has a default.
pub trait Plugin {
    /// Short, stable name, e.g. "native-restore".
    const NAME: &'static str;
    /// The plugin's version; `env!("CARGO_PKG_VERSION")` is the usual choice.
    const VERSION: &'static str;
    /// One sentence saying what the plugin does.
    const SUMMARY: &'static str;

    /// The step's `config` table, deserialized with serde. Its schema is derived from the type
    /// (`#[derive(schemars::JsonSchema)]`): doc comments become descriptions, defaults come
    /// from the same `Default`/`#[serde(default)]` serde uses.
    type Config: DeserializeOwned + schemars::JsonSchema;
    /// What the plugin remembers between step calls. Journaled as JSON after every call, so a
    /// crash resumes from the last one. `Default` is the state of the first call.
    type State: Serialize + DeserializeOwned + Default;

    /// A JSON Schema for the config; the host checks configs against it before any run.
    /// Derived from [`Plugin::Config`] ([`crate::config_schema`]); override only to add what a
    /// type cannot say.
    fn config_schema() -> serde_json::Value {
        crate::config_schema::config_schema::<Self::Config>()
    }

    /// The capabilities the plugin may ask for; see [`need`].
    fn needs() -> Vec<CapabilityNeed> {
        Vec::new()
    }

    /// Static checks of a config, beyond its schema. Runs with no grants.
    fn validate(_config: &Self::Config) -> Result<Vec<Warning>> {
        Ok(Vec::new())
    }

    /// Does the next bounded piece of work for `cx.item()`.
    ///
    /// Must be idempotent for a given state: if ferry was killed during the call, it is made
    /// again with the same state and `cx.attempt() > 1`.
    fn step(cx: &mut Context<'_, Self::Config>, state: Self::State)
    -> Result<Outcome<Self::State>>;

    /// Best-effort cleanup after a failure or cancel, with the last journaled state.
    fn cleanup(_cx: &mut Context<'_, Self::Config>, _state: Self::State) {}

    /// The plugin's self-description, built from the items above.
    fn info() -> PluginInfo {
        PluginInfo {
            name: Self::NAME.to_owned(),
            version: Self::VERSION.to_owned(),
            summary: Self::SUMMARY.to_owned(),
            config_schema: Self::config_schema().to_string(),
            needs: Self::needs(),
        }
    }
}

/// Shorthand for a [`CapabilityNeed`].
pub fn need(kind: CapabilityKind, label: &str, access: Access, why: &str) -> CapabilityNeed {
    CapabilityNeed {
        kind,
        label: label.to_owned(),
        access,
        why: why.to_owned(),
    }
}

/// What to wait for before the next step call.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// A fixed time.
    Duration(std::time::Duration),
    /// A wall-clock time, in milliseconds since the Unix epoch.
    UntilUnixMs(u64),
    /// The end of a host operation, by id.
    Operation(String),
}

/// What a step call decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<S> {
    /// Call again at once with this state.
    Next(S),
    /// Call again on a fresh instance once `until` holds.
    Wait {
        /// The condition.
        until: WaitFor,
        /// The state to resume with.
        state: S,
        /// What the step waits for, for progress and status.
        reason: String,
    },
    /// The work item is finished; the output goes to the journal and report.
    Done(serde_json::Value),
}

impl<S> Outcome<S> {
    /// Done, with no output.
    pub fn done() -> Self {
        Outcome::Done(serde_json::Value::Null)
    }

    /// Wait for a duration, then continue with `state`.
    pub fn wait_for(duration: std::time::Duration, state: S, reason: impl Into<String>) -> Self {
        Outcome::Wait {
            until: WaitFor::Duration(duration),
            state,
            reason: reason.into(),
        }
    }

    /// Wait for a host operation to finish, then continue with `state`.
    pub fn wait_operation(id: impl Into<String>, state: S, reason: impl Into<String>) -> Self {
        Outcome::Wait {
            until: WaitFor::Operation(id.into()),
            state,
            reason: reason.into(),
        }
    }
}
