//! The Log Replay Service of the emulated Managed Instance (methods.md §2, §7.3): `plan`
//! builds the restore chain from backup headers, `access` holds the storage rules a job
//! starts with, `job` runs one job and `details` is where it stands. Started, watched and
//! completed through the ARM front end (`crate::arm`).

pub mod access;
pub mod details;
pub mod job;
pub mod plan;
