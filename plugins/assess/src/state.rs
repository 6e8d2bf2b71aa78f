//! What a work item carries between step calls (journaled as JSON after each).

use serde::{Deserialize, Serialize};

use crate::database_step::DatabaseSummary;
use crate::facts::InstanceFacts;
use crate::rules::Finding;
use crate::sizing::Sample;

/// Where a work item is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "kebab-case")]
pub enum State {
    #[default]
    Start,
    /// The instance step, between two samples of the window.
    Sampling(Box<Progress>),
    /// The instance step, assessing its databases one per call.
    Databases(Box<Progress>),
}

/// What the instance step carries from call to call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub facts: InstanceFacts,
    pub findings: Vec<Finding>,
    pub samples: Vec<Sample>,
    /// The databases to assess, in order, and those assessed so far.
    pub databases: Vec<String>,
    pub assessed: Vec<DatabaseSummary>,
    /// Names in `databases` of the config that the source does not have.
    pub missing: Vec<String>,
}
