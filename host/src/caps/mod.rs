//! One module per WIT interface: each holds the host side of that interface (its `Host` impl),
//! the grant check it makes on every call, and the config it reads. Strings from the plugin are
//! redacted and capped here before they go anywhere.

pub mod azure;
pub mod log;
pub mod operations;
pub mod planning;
pub mod progress;
pub mod report;
pub mod scripts;
pub mod secrets;
pub mod signals;
pub mod storage;
pub mod tsql;

use crate::bindings::types::PluginError;
use crate::capability::{Access, Kind, grant_check};
use crate::runtime::store::StepData;

impl crate::bindings::types::Host for StepData {
    /// A plugin error goes back to the plugin; anything else traps the call.
    fn convert_plugin_error(
        &mut self,
        err: crate::bindings::HostError,
    ) -> wasmtime::Result<PluginError> {
        err.into_result()
    }
}

impl StepData {
    /// The grant check for this call's step.
    pub(crate) fn check(&self, kind: Kind, label: &str, access: Access) -> Result<(), PluginError> {
        grant_check(&self.scope.grants, &self.scope.step, kind, label, access)
    }

    /// The plan gate's decision on a change of `kind` through `label`: run it, record it in the
    /// plan (`ferry plan`), or refuse it (not in the reviewed plan). `text` is what the plan
    /// shows, made safe to keep and capped at `max` bytes.
    pub(crate) fn plan_gate(
        &self,
        kind: &str,
        label: &str,
        text: &str,
        max: usize,
    ) -> Result<crate::plan::Decision, PluginError> {
        let action = crate::plan::PlannedAction {
            kind: kind.to_owned(),
            label: label.to_owned(),
            text: self.clean(text, max),
        };
        self.scope
            .plan
            .mutating(&self.scope.step, &self.scope.item, action)
    }

    /// Errors from a server pass through the redactor like every plugin-visible string.
    pub(crate) fn clean_error(&self, e: PluginError) -> PluginError {
        match e {
            PluginError::Failed(mut f) => {
                f.message = self.clean(&f.message, 16 << 10);
                PluginError::Failed(f)
            }
            PluginError::Transient(mut f) => {
                f.message = self.clean(&f.message, 16 << 10);
                PluginError::Transient(f)
            }
            other => other,
        }
    }

    /// A plugin-supplied string made safe to keep: secrets masked, length capped.
    pub(crate) fn clean(&self, text: &str, max: usize) -> String {
        let text = self.scope.redactor.redact(text);
        if text.len() <= max {
            return text.into_owned();
        }
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    }
}
