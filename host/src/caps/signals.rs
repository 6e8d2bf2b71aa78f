//! `signals`: whether an operator asked this work item for something (see [`crate::signals`]).

use crate::bindings::ferry::plugin::signals::Host;
use crate::runtime::store::StepData;

impl Host for StepData {
    async fn requested(&mut self, name: String) -> wasmtime::Result<bool> {
        Ok(self.scope.signals.requested(&self.scope.item, &name))
    }
}
