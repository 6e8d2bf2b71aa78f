//! The Log Replay Service of the emulated Managed Instance (methods.md §2, §7.3). `plan` builds
//! the restore chain from backup headers. Started through the ARM front end; not finished yet:
//! see `arm.rs` for what answers "not emulated yet".

pub mod job;
pub mod plan;
