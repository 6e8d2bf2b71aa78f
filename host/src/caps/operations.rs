//! `operations`: status and cancel of host operations. No capability starts one yet (T-SQL,
//! storage and Azure backends come next), so every id is unknown.

use crate::bindings::ferry::plugin::operations::{Host, OperationStatus};
use crate::bindings::types::{Failure, PluginError};
use crate::runtime::store::StepData;

fn unknown(id: &str) -> PluginError {
    PluginError::Failed(Failure {
        message: format!(
            "no host operation `{}` was started for this work item",
            id.escape_default()
        ),
        code: None,
    })
}

impl Host for StepData {
    async fn status(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<OperationStatus, PluginError>> {
        Ok(Err(unknown(&id)))
    }

    async fn cancel(&mut self, id: String) -> wasmtime::Result<Result<(), PluginError>> {
        Ok(Err(unknown(&id)))
    }
}
