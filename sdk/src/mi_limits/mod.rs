//! What a Managed Instance cannot restore, shared by every method that moves a database there
//! (methods.md §2.7, §4.1, §4.4, §4.6, and the MI resource limits), so each plugin refuses it
//! before backing anything up and says the same thing about it.

mod capacity;
mod layout;
mod refusal;
mod resources;
mod restore_errors;
mod tde;
mod tier;

pub use capacity::{Instance, capacity_stop};
pub use layout::{DbFile, FileKind, FileLayout, FilegroupKind, layout_note, layout_stop};
pub use refusal::Refusal;
pub use resources::{
    MEMORY_GB_PER_VCORE, STORAGE_STEP_GB, TierLimits, VCORE_CHOICES, gp_file_iops,
};
pub use restore_errors::meaning;
pub use tde::tde_stop;
pub use tier::Tier;
