//! What a parsed statement asks the instance to do, as plain data: the parser ([`crate::sql`])
//! builds these and the instance carries them out, so neither reaches into the other for them.

mod backup;
mod file_change;
mod objects;

pub use backup::{BackupSpec, Device, RestoreKind, RestoreSpec};
pub use file_change::{FileChange, FilegroupKind};
pub use objects::*;
