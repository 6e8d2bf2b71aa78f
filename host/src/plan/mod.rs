//! Plans: `ferry plan` runs every step with a [`PlanGate::Record`] gate, so reads go to the
//! servers for real while every mutating call is written into the plan instead of run; `ferry
//! apply plan.json` runs with a [`PlanGate::Enforce`] gate, so a mutating call that is not in the
//! reviewed plan is refused rather than run.

pub mod file;
mod gate;

pub use file::{PlanFile, PlannedItem};
pub use gate::{Decision, PlanGate, PlannedAction};
