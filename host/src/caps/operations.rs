//! `operations`: status of the host operations this work item started (see
//! [`crate::operations`]). Cancelling is not supported yet.

use crate::bindings::ferry::plugin::operations::{Host, OperationStatus};
use crate::bindings::types::PluginError;
use crate::runtime::store::StepData;

impl Host for StepData {
    async fn status(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<OperationStatus, PluginError>> {
        let owner = (self.scope.step.clone(), self.scope.item.clone());
        Ok(self.scope.ops.status(&id, &owner).map(|mut s| {
            s.message = s.message.map(|m| self.clean(&m, 4096));
            s
        }))
    }

    async fn cancel(&mut self, _id: String) -> wasmtime::Result<Result<(), PluginError>> {
        Ok(Err(PluginError::Unsupported(
            "cancelling a host operation is not supported yet".into(),
        )))
    }
}
