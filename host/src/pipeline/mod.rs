//! The pipeline: loading a migration and its plugins, checking it, fingerprinting its inputs,
//! and running it (each database through each step, in waves, resumably).

pub mod check;
pub mod fingerprint;
pub mod load;
pub mod observer;
pub mod run;

pub use check::{check, CheckReport};
pub use load::{load, Loaded};
pub use observer::{Observer, RunEvent};
pub use run::{apply, ApplyError, ApplyOptions, RunSummary};
