//! What a rule's predicate sees and answers.

use ferry_sdk::sql_version::UpdatePolicy;

use crate::config::{Config, TargetTier};
use crate::facts::{DatabaseFacts, InstanceFacts};

/// What a predicate looks at.
pub struct Subject<'a> {
    pub instance: &'a InstanceFacts,
    pub database: Option<&'a DatabaseFacts>,
    pub config: &'a Config,
}

impl Subject<'_> {
    /// The target's collation: the instance's own when it was read, else the config's.
    pub fn target_collation(&self) -> &str {
        self.instance
            .target
            .as_ref()
            .map(|t| t.collation.as_str())
            .filter(|c| !c.is_empty())
            .unwrap_or(&self.config.target_collation)
    }

    /// The target's update policy: the instance's own when it was read, else the config's.
    pub fn policy(&self) -> UpdatePolicy {
        let read = self.instance.target.as_ref().and_then(|t| t.policy);
        read.unwrap_or(self.config.update_policy).policy()
    }
}

/// What a predicate found: the object, what about it, and the tiers it concerns (None: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub object: String,
    pub detail: String,
    pub tiers: Option<Vec<TargetTier>>,
}

impl Hit {
    pub fn new(object: impl Into<String>, detail: impl Into<String>) -> Hit {
        Hit {
            object: object.into(),
            detail: detail.into(),
            tiers: None,
        }
    }
}

pub type Predicate = fn(&Subject) -> Vec<Hit>;
