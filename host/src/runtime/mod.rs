//! The plugin runtime: one wasmtime `Engine` with epoch interruption, one shared `Linker`, a
//! compiled-component cache, and per call a fresh `Store` (see [`call`]).

pub mod cache;
pub mod call;
mod engine;
pub mod plugin;
pub mod store;

pub use call::{StepCall, StepFailure};
pub use engine::{EPOCH_TICK, Runtime, RuntimeOptions};
