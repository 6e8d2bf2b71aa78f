//! The plan gate: what a mutating call may do in this run — run, be recorded into a plan, or be
//! refused because the reviewed plan does not hold it.

use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bindings::types::{Failure, PluginError};

/// One change a step makes: a T-SQL statement (sealed values shown as `***`) or a storage action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlannedAction {
    /// `execute`, `start` (a long statement), `write`, `delete` or `upload`.
    pub kind: String,
    /// The SQL or storage label it goes to.
    pub label: String,
    /// The statement, or what the storage action touches.
    pub text: String,
}

/// What a mutating call may do in this run.
#[derive(Debug, Clone, Default)]
pub enum PlanGate {
    /// `ferry apply` without a plan: everything runs.
    #[default]
    Off,
    /// `ferry plan`: nothing mutating runs; each call is recorded for its (step, item).
    Record(Arc<Mutex<Vec<(String, String, PlannedAction)>>>),
    /// `ferry apply plan.json`: only the plan's actions for that (step, item) run.
    Enforce(Arc<BTreeSet<(String, String, PlannedAction)>>),
}

/// Whether a mutating call goes ahead.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Run,
    /// Recorded in the plan; the call answers as if it had succeeded.
    Recorded,
}

impl PlanGate {
    /// True while `ferry plan` runs.
    pub fn planning(&self) -> bool {
        matches!(self, PlanGate::Record(_))
    }

    /// Decides a mutating call of `step`'s work item `item`.
    pub fn mutating(
        &self,
        step: &str,
        item: &str,
        action: PlannedAction,
    ) -> Result<Decision, PluginError> {
        match self {
            PlanGate::Off => Ok(Decision::Run),
            PlanGate::Record(actions) => {
                actions
                    .lock()
                    .push((step.to_owned(), item.to_owned(), action));
                Ok(Decision::Recorded)
            }
            PlanGate::Enforce(allowed) => {
                let key = (step.to_owned(), item.to_owned(), action);
                if allowed.contains(&key) {
                    Ok(Decision::Run)
                } else {
                    let a = key.2;
                    Err(PluginError::Failed(Failure {
                        code: None,
                        message: format!(
                            "{} on `{}` is not in the reviewed plan for {step} / {item}: {}. Nothing \
                         was run; make a new plan with `ferry plan` and review it",
                            a.kind, a.label, a.text
                        ),
                    }))
                }
            }
        }
    }
}
