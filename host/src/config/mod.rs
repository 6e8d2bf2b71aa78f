//! The two input files: `migration.toml` (what to do; no secrets) and `environment.toml` (what
//! each label means, with secrets as references). Every problem is reported with the file, the
//! line and the fix.

mod environment;
mod input;
mod migration;
mod secret_ref;

pub use environment::{
    AzureLabel, EntraSource, Environment, ShareOrBlob, SqlLabel, StorageLabel, TlsMode,
};
pub use input::InputError;
pub(crate) use input::{line_of, read_toml};
pub use migration::{Grant, Grants, Limits, Migration, PluginSource, Step, StepLimits, Wave};
pub use secret_ref::SecretRef;
