//! `planning`: tells a plugin whether `ferry plan` is running it (see [`crate::plan`]).

use crate::bindings::ferry::plugin::planning::Host;
use crate::runtime::store::StepData;

impl Host for StepData {
    async fn active(&mut self) -> wasmtime::Result<bool> {
        Ok(self.scope.plan.planning())
    }
}
