//! `secrets`: opaque handles to values the host resolves from `env:`/`file:` references.
//! `open` needs a `secrets` grant; `reveal` needs a separate `label:reveal` grant and is
//! journaled. Every resolved value is registered with the redactor before anything uses it.

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::secrets::{Host, HostSecret};
use crate::bindings::handles::SecretHandle;
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed};
use crate::capability::{Access, Kind};
use crate::events::PluginEvent;
use crate::runtime::store::StepData;

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
