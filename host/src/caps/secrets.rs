//! `secrets`: opaque handles to values the host resolves from `env:`/`file:` references.
//! `open` needs a `secrets` grant; `reveal` needs a separate `label:reveal` grant and is
//! journaled. Every resolved value is registered with the redactor before anything uses it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::secrets::{Host, HostSecret};
use crate::bindings::handles::SecretHandle;
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed};
use crate::capability::{Access, Kind};
use crate::config::SecretRef;
use crate::events::PluginEvent;
use crate::redact::Redactor;
use crate::runtime::store::StepData;

/// Secret references by label, resolved on first use and remembered for the run.
#[derive(Default)]
pub struct Vault {
    refs: BTreeMap<String, SecretRef>,
    resolved: Mutex<BTreeMap<String, String>>,
    redactor: Redactor,
}

impl Vault {
    pub fn new(refs: BTreeMap<String, SecretRef>, redactor: Redactor) -> Self {
        Vault {
            refs,
            resolved: Mutex::default(),
            redactor,
        }
    }

    /// The value for a label. Errors name the label and the reference, never a value.
    pub fn resolve(&self, label: &str) -> Result<String, String> {
        let mut cache = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(label) {
            return Ok(v.clone());
        }
        let r = self
            .refs
            .get(label)
            .ok_or_else(|| format!("environment.toml has no [secrets] entry `{label}`"))?;
        let value = r
            .resolve()
            .map_err(|e| format!("secret `{label}` ({r}): {e}"))?;
        self.redactor.register(&value);
        cache.insert(label.to_owned(), value.clone());
        Ok(value)
    }
}

impl Vault {
    /// Keeps a value the host made (a SAS it signed) under a fresh label, so a plugin can hold
    /// it as a sealed handle. No grant names such a label, so it can never be revealed.
    pub fn seal_generated(&self, prefix: &str, value: String) -> String {
        self.redactor.register(&value);
        let mut cache = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        let label = format!("{prefix}#{}", cache.len() + 1);
        cache.insert(label.clone(), value);
        label
    }
}

impl HostSecret for StepData {
    async fn open(&mut self, label: String) -> Result<Resource<SecretHandle>, HostError> {
        self.check(Kind::Secret, &label, Access::Read)?;
        // Resolve now so a missing variable or file fails here, at the plugin's first use.
        self.scope.vault.resolve(&label).map_err(failed)?;
        Ok(self.table.push(SecretHandle { label })?)
    }

    async fn label(&mut self, secret: Resource<SecretHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&secret)?.label.clone())
    }

    async fn reveal(&mut self, secret: Resource<SecretHandle>) -> Result<String, HostError> {
        let label = self.table.get(&secret)?.label.clone();
        self.check(Kind::Secret, &label, Access::Reveal)?;
        let value = self.scope.vault.resolve(&label).map_err(failed)?;
        self.scope.sink.emit(
            &self.scope.step,
            &self.scope.item,
            PluginEvent::SecretRevealed { label },
        );
        Ok(value)
    }

    async fn drop(&mut self, secret: Resource<SecretHandle>) -> wasmtime::Result<()> {
        self.table.delete(secret)?;
        Ok(())
    }
}

impl Host for StepData {}

impl StepData {
    /// The value behind a sealed handle, for the host to write into a statement or a request
    /// the plugin never sees (`what` names the use, for errors).
    pub(crate) fn sealed_value(
        &self,
        secret: &Resource<SecretHandle>,
        what: &str,
    ) -> Result<String, PluginError> {
        let label = self
            .table
            .get(secret)
            .map_err(|e| failed(format!("{what}: {e}")))?
            .label
            .clone();
        self.scope.vault.resolve(&label).map_err(failed)
    }
}
