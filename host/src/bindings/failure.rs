//! Building the plugin-facing failures every capability returns.

use super::generated::HostError;
use super::generated::ferry::plugin::types::{Failure, PluginError};

/// A plugin error from a host call goes back to the plugin (`?` in `caps/*`).
impl From<PluginError> for HostError {
    fn from(e: PluginError) -> Self {
        HostError::Error(e)
    }
}

/// A permanent failure without an error number.
pub fn failed(message: impl Into<String>) -> PluginError {
    PluginError::Failed(Failure {
        message: message.into(),
        code: None,
    })
}

/// A permanent failure with the error number a server gave (a SQL Server error, an HTTP status).
pub fn failed_with(message: impl Into<String>, code: Option<i32>) -> PluginError {
    PluginError::Failed(Failure {
        message: message.into(),
        code,
    })
}

/// A failure worth retrying (a connection lost, a service that may come back).
pub fn transient(message: impl Into<String>) -> PluginError {
    PluginError::Transient(Failure {
        message: message.into(),
        code: None,
    })
}
