//! Readiness per tier: the rules that block and warn on each tier, from the findings — the
//! answer to "can it go to General Purpose, Business Critical, Next-gen General Purpose?".

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::TargetTier;
use crate::rules::{Finding, Severity};

/// One tier's verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// No blocker on this tier.
    pub ready: bool,
    /// The rule ids that block, and those that warn.
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
}

/// Every tier's verdict over `findings`.
pub fn per_tier(findings: &[Finding]) -> BTreeMap<TargetTier, Readiness> {
    TargetTier::ALL
        .iter()
        .map(|&tier| {
            let ids = |want: Severity| -> Vec<String> {
                let set: BTreeSet<&str> = findings
                    .iter()
                    .filter(|f| f.on(tier) == Some(want))
                    .map(|f| f.rule.as_str())
                    .collect();
                set.into_iter().map(str::to_owned).collect()
            };
            let blockers = ids(Severity::Blocker);
            let r = Readiness {
                ready: blockers.is_empty(),
                blockers,
                warnings: ids(Severity::Warning),
            };
            (tier, r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tier_lists_its_blockers_and_warnings_once() {
        let f = |rule: &str, gp: Severity, bc: Severity| Finding {
            rule: rule.into(),
            object: String::new(),
            detail: String::new(),
            severity: BTreeMap::from([
                (TargetTier::GeneralPurpose, gp),
                (TargetTier::BusinessCritical, bc),
            ]),
        };
        let r = per_tier(&[
            f("in-memory-oltp", Severity::Blocker, Severity::Info),
            f("xp-cmdshell-used", Severity::Warning, Severity::Warning),
            f("xp-cmdshell-used", Severity::Warning, Severity::Warning),
        ]);
        let gp = &r[&TargetTier::GeneralPurpose];
        assert!(!gp.ready);
        assert_eq!(gp.blockers, ["in-memory-oltp"]);
        assert_eq!(gp.warnings, ["xp-cmdshell-used"]);
        assert!(r[&TargetTier::BusinessCritical].ready);
        assert!(r[&TargetTier::NextGenGeneralPurpose].ready);
    }
}
