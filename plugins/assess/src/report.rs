//! Report rows: one per rule that found something (its objects listed in the notes), one per
//! database for its method, each named `<db or instance>: <rule id>`.

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;

use crate::config::TargetTier;
use crate::methods::Choice;
use crate::rules::{Finding, Rule, Severity};

/// The one mapping from a finding's severity to a row's status: a blocker is `blocked` (it
/// stops the migration until dealt with), a warning `warning`, an info `passed` (nothing in
/// the way; the notes say what was seen). A rule that found nothing is `passed` too.
pub fn status(severity: Severity) -> ObjectStatus {
    match severity {
        Severity::Blocker => ObjectStatus::Blocked,
        Severity::Warning => ObjectStatus::Warning,
        Severity::Info => ObjectStatus::Passed,
    }
}

/// The rows for `findings` of `subject` (a database's name, or `instance`), judged on `tier`:
/// one per rule; a rule that does not concern the tier has none.
pub fn finding_rows(subject: &str, findings: &[Finding], tier: TargetTier) -> Vec<ObjectRow> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_rule.entry(f.rule.as_str()).or_default().push(f);
    }
    let mut rows = Vec::new();
    for (rule, hits) in by_rule {
        let Some(worst) = hits.iter().filter_map(|f| f.on(tier)).max() else {
            continue;
        };
        let Some(rule_data) = hits.first().and_then(|f| f.rule()) else {
            continue;
        };
        let objects: Vec<String> = hits
            .iter()
            .filter(|f| f.on(tier).is_some())
            .map(|f| format!("{}: {}", f.object, f.detail))
            .collect();
        let others: Vec<String> = TargetTier::ALL
            .iter()
            .filter(|t| **t != tier)
            .map(|t| {
                let s = hits.iter().filter_map(|f| f.on(*t)).max();
                format!(
                    "{}: {}",
                    t.key(),
                    s.map_or("none", |s| match s {
                        Severity::Blocker => "blocker",
                        Severity::Warning => "warning",
                        Severity::Info => "info",
                    })
                )
            })
            .collect();
        let blocks: Vec<String> = rule_data
            .blocks
            .iter()
            .map(|(m, why)| format!("{} ({why})", m.key()))
            .collect();
        let mut notes = format!(
            "{}. {} — {} What to do: {} Source: {}. Other tiers: {}.",
            rule_data.title,
            objects.join("; "),
            rule_data.reason,
            rule_data.action,
            rule_data.source,
            others.join(", ")
        );
        if !blocks.is_empty() {
            notes.push_str(&format!(" Keeps from moving it: {}.", blocks.join(", ")));
        }
        rows.push(ObjectRow {
            object_type: "assessment".into(),
            name: format!("{subject}: {rule}"),
            status: status(worst),
            reason_code: Some(rule.to_owned()),
            notes: Some(notes),
        });
    }
    rows
}

/// A `passed` row for each of `rules` that found nothing on `tier` for `subject`: the report
/// then lists every check made, not only what was found.
pub fn passed_rows(
    subject: &str,
    rules: &[&Rule],
    findings: &[Finding],
    tier: TargetTier,
) -> Vec<ObjectRow> {
    rules
        .iter()
        .filter(|r| {
            !findings
                .iter()
                .any(|f| f.rule == r.id && f.on(tier).is_some())
        })
        .map(|r| ObjectRow {
            object_type: "assessment".into(),
            name: format!("{subject}: {}", r.id),
            status: ObjectStatus::Passed,
            reason_code: Some(r.id.clone()),
            notes: Some(format!("{}: none found. Source: {}.", r.title, r.source)),
        })
        .collect()
}

/// The row for a database's method: info when one is picked, a blocker when none can move it.
pub fn method_row(c: &Choice) -> ObjectRow {
    let severity = if c.pick.is_some() {
        Severity::Info
    } else {
        Severity::Blocker
    };
    ObjectRow {
        object_type: "assessment".into(),
        name: format!("{}: method", c.database),
        status: status(severity),
        reason_code: Some(match c.pick {
            Some(m) => format!("method-{}", m.key()),
            None => "method-none".into(),
        }),
        notes: Some(c.rationale.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Scope, rules_for};

    fn f(rule: &str, object: &str, gp: Severity, bc: Option<Severity>) -> Finding {
        let mut severity = BTreeMap::from([(TargetTier::GeneralPurpose, gp)]);
        if let Some(b) = bc {
            severity.insert(TargetTier::BusinessCritical, b);
        }
        Finding {
            rule: rule.into(),
            object: object.into(),
            detail: "d".into(),
            severity,
        }
    }

    #[test]
    fn one_row_per_rule_with_its_objects_and_the_severity_mapped_once() {
        let rows = finding_rows(
            "instance",
            &[
                f("windows-login-unmapped", "A\\x", Severity::Blocker, None),
                f("windows-login-unmapped", "A\\y", Severity::Blocker, None),
                f(
                    "link-version",
                    "instance",
                    Severity::Info,
                    Some(Severity::Info),
                ),
            ],
            TargetTier::GeneralPurpose,
        );
        assert_eq!(rows.len(), 2);
        let login = rows
            .iter()
            .find(|r| r.name == "instance: windows-login-unmapped")
            .unwrap();
        assert_eq!(login.status, ObjectStatus::Blocked);
        let notes = login.notes.as_deref().unwrap();
        assert!(notes.contains("A\\x: d; A\\y: d"), "{notes}");
        assert!(notes.contains("business-critical: none"), "{notes}");
        let link = rows
            .iter()
            .find(|r| r.name == "instance: link-version")
            .unwrap();
        assert_eq!(link.status, ObjectStatus::Passed);
        assert!(
            link.notes
                .as_deref()
                .unwrap()
                .contains("Keeps from moving it: mi-link")
        );
        // A finding that does not concern the tier has no row.
        let bc_only = [f("windows-login-unmapped", "o", Severity::Blocker, None)];
        assert!(finding_rows("db", &bc_only, TargetTier::BusinessCritical).is_empty());
        assert_eq!(status(Severity::Warning), ObjectStatus::Warning);
    }

    #[test]
    fn every_other_rule_of_the_scope_is_a_passed_row() {
        let rules = rules_for(Scope::Database).unwrap();
        let found = [f("filestream", "db", Severity::Blocker, None)];
        let rows = passed_rows("db", &rules, &found, TargetTier::GeneralPurpose);
        assert_eq!(rows.len(), rules.len() - 1);
        assert!(rows.iter().all(|r| r.status == ObjectStatus::Passed));
        assert!(!rows.iter().any(|r| r.name == "db: filestream"));
        // The per-database instance rules are each database's checks too.
        assert!(rows.iter().any(|r| r.name == "db: link-version"));
        // On a tier the finding does not concern, its rule passed.
        let bc = passed_rows("db", &rules, &found, TargetTier::BusinessCritical);
        assert!(bc.iter().any(|r| r.name == "db: filestream"));
    }
}
