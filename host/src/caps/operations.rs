//! `operations`: status of the host operations this work item started (see
//! [`crate::operations`]). Cancelling is not supported yet.

use crate::bindings::HostError;
use crate::bindings::ferry::plugin::operations::{Host, OperationStatus};
use crate::bindings::types::PluginError;
use crate::runtime::store::StepData;

impl Host for StepData {
    async fn status(&mut self, id: String) -> Result<OperationStatus, HostError> {
        let owner = (self.scope.step.clone(), self.scope.item.clone());
        let mut status = self.scope.ops.status(&id, &owner)?;
        status.message = status.message.map(|m| self.clean(&m, 4096));
        Ok(status)
    }

    async fn cancel(&mut self, _id: String) -> Result<(), HostError> {
        Err(
            PluginError::Unsupported("cancelling a host operation is not supported yet".into())
                .into(),
        )
    }
}
