//! The error type plugins return and receive: the WIT `plugin-error`, with constructors.

pub use crate::bindings::ferry::plugin::types::PluginError as Error;
use crate::bindings::ferry::plugin::types::{CapabilityKind, ConfigProblem, Denial, Failure};

/// Result with the plugin [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// A permanent failure: the work item stops with this reason.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(Failure {
            message: message.into(),
            code: None,
        })
    }

    /// A permanent failure with a code (a SQL Server error number, an HTTP status, …).
    pub fn failed_with_code(message: impl Into<String>, code: i32) -> Self {
        Error::Failed(Failure {
            message: message.into(),
            code: Some(code),
        })
    }

    /// A temporary failure: the host retries the step call with backoff.
    pub fn transient(message: impl Into<String>) -> Self {
        Error::Transient(Failure {
            message: message.into(),
            code: None,
        })
    }

    /// A configuration problem, optionally naming the key at fault.
    pub fn invalid_config(key: Option<&str>, message: impl Into<String>) -> Self {
        Error::InvalidConfig(ConfigProblem {
            key: key.map(str::to_owned),
            message: message.into(),
        })
    }

    /// A refused capability.
    pub fn denied(
        kind: CapabilityKind,
        label: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Denied(Denial {
            kind,
            label: label.into(),
            reason: reason.into(),
        })
    }

    /// Something the host or plugin does not support yet.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }

    /// The error as one sentence for a person.
    pub fn describe(&self) -> String {
        match self {
            Error::InvalidConfig(p) => match &p.key {
                Some(k) => format!("invalid config at `{k}`: {}", p.message),
                None => format!("invalid config: {}", p.message),
            },
            Error::Denied(d) => format!(
                "denied {} label `{}`: {}",
                grant_key(d.kind),
                d.label,
                d.reason
            ),
            Error::Transient(f) => with_code("transient failure", f),
            Error::Failed(f) => with_code("failed", f),
            Error::Unsupported(m) => format!("not supported: {m}"),
        }
    }
}

/// The kind as a step's `[steps.grants]` spells it.
fn grant_key(kind: CapabilityKind) -> &'static str {
    match kind {
        CapabilityKind::Sql => "sql",
        CapabilityKind::Storage => "storage",
        CapabilityKind::Azure => "azure",
        CapabilityKind::Secret => "secrets",
        CapabilityKind::Scratch => "scratch",
    }
}

fn with_code(kind: &str, f: &Failure) -> String {
    match f.code {
        Some(c) => format!("{kind} ({c}): {}", f.message),
        None => format!("{kind}: {}", f.message),
    }
}
