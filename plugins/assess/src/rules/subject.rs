//! What a rule's predicate sees and answers.

use crate::config::{Config, TargetTier};
use crate::facts::{DatabaseFacts, InstanceFacts};

/// What a predicate looks at.
pub struct Subject<'a> {
    pub instance: &'a InstanceFacts,
    pub database: Option<&'a DatabaseFacts>,
    pub config: &'a Config,
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
