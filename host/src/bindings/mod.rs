//! Host bindings for `wit/` (package `ferry:plugin@0.1.0`). Imports are async on the host so a
//! plugin waiting on SQL or storage costs no thread, and trappable so the host can stop a plugin
//! that abuses a capability. The resources' host types live beside the bindings ([`handles`]),
//! as wasmtime-wasi keeps them, so the generated code depends on nothing else in the host; every
//! import that can fail returns a [`HostError`], so `caps/*` use `?`.

mod failure;
mod generated;
pub mod handles;
mod trappable;

pub use failure::{describe_plugin_error, failed, failed_with, transient};
pub use generated::exports::ferry::plugin::plugin as guest;
pub use generated::ferry::plugin::types;
pub use generated::{HostError, MigrationPlugin, MigrationPluginPre, exports, ferry};
