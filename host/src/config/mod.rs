//! The two input files: `migration.toml` (what to do; no secrets) and `environment.toml` (what
//! each label means, with secrets as references). Every problem is reported with the file, the
//! line and the fix.

mod blob_url;
mod environment;
#[cfg(test)]
mod fuzz;
mod input;
pub mod limits;
mod migration;
pub mod names;
mod secret_ref;
#[cfg(test)]
mod tests;
mod trust_ca;
mod waves;

pub use blob_url::BlobAddress;
pub use environment::{
    AzureLabel, EntraSource, Environment, ShareOrBlob, SqlLabel, StorageLabel, TlsMode,
};
pub use input::InputError;
pub(crate) use input::{Lines, read_toml};
pub use migration::{
    Grant, Grants, INSTANCE_ITEM, Limits, Migration, PluginSource, Scope, Step, StepLimits,
};
pub use secret_ref::SecretRef;
pub use trust_ca::read_trust_ca;
pub use waves::Wave;
