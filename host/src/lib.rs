//! ferry's host: the plugin runtime, the capabilities behind the WIT interfaces, the pipeline
//! and its journal, and the `ferry` command line.

pub mod azure;
pub mod bindings;
pub mod bundled;
pub mod capability;
pub mod caps;
pub mod cli;
pub mod config;
pub mod entra;
pub mod escape;
pub mod events;
pub mod journal;
pub mod operations;
pub mod pipeline;
pub mod plan;
pub mod redact;
pub mod report;
pub mod runtime;
pub mod signals;
pub mod sql;
pub mod storage;
pub mod vault;
