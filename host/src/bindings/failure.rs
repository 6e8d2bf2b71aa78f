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

/// One line for a plugin error.
pub fn describe_plugin_error(e: &PluginError) -> String {
    let code = |c: Option<i32>| c.map(|c| format!(" ({c})")).unwrap_or_default();
    match e {
        PluginError::InvalidConfig(p) => match &p.key {
            Some(k) => format!("invalid config at `{k}`: {}", p.message),
            None => format!("invalid config: {}", p.message),
        },
        PluginError::Denied(d) => format!("denied: {}", d.reason),
        PluginError::Transient(f) => format!("transient failure{}: {}", code(f.code), f.message),
        PluginError::Failed(f) => format!("failed{}: {}", code(f.code), f.message),
        PluginError::Unsupported(m) => format!("not supported yet: {m}"),
    }
}
