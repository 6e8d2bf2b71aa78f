//! The pipeline: loading a migration and its plugins, checking it, fingerprinting its inputs,
//! and running it (each database through each step, in waves, resumably).

pub mod check;
mod context;
mod error;
pub mod fingerprint;
pub mod load;
pub mod need_labels;
pub mod observer;
pub mod run;
mod run_item;
mod run_log;
mod transition;

pub use check::{CheckReport, check};
pub use context::ApplyOptions;
pub use error::ApplyError;
pub use load::{Loaded, load};
pub use observer::Observer;
pub use run::{RunSummary, apply};
