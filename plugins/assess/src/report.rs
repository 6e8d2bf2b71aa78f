//! Report rows: one per rule that found something (its objects listed in the notes), one per
//! database for its method, each named `<db or instance>: <rule id>`.

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;

use crate::config::TargetTier;
use crate::methods::Choice;
use crate::rules::{Finding, Severity};

/// The one mapping from a finding's severity to a row's status. A blocker is `refused` (the
/// target cannot take it as it is), a warning `warning`, an info `skipped` (nothing to do
/// before migrating). When the host grows `blocked`/`passed` statuses, only this changes.
pub fn status(severity: Severity) -> ObjectStatus {
    match severity {
        Severity::Blocker => ObjectStatus::Refused,
        Severity::Warning => ObjectStatus::Warning,
        Severity::Info => ObjectStatus::Skipped,
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
        let first = hits[0];
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
        let blocks: Vec<String> = first
            .blocks
            .iter()
            .map(|(m, why)| format!("{} ({why})", m.key()))
            .collect();
        let mut notes = format!(
            "{}. {} — {}. What to do: {} Source: {}. Other tiers: {}.",
            first.title,
            objects.join("; "),
            first.reason,
            first.action,
            first.source,
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
    use crate::rules::Method;

    fn f(rule: &str, object: &str, gp: Severity, bc: Option<Severity>) -> Finding {
        let mut severity = BTreeMap::from([(TargetTier::GeneralPurpose, gp)]);
        if let Some(b) = bc {
            severity.insert(TargetTier::BusinessCritical, b);
        }
        Finding {
            rule: rule.into(),
            object_kind: "login".into(),
            object: object.into(),
            title: "T".into(),
            detail: "d".into(),
            severity,
            reason: "R".into(),
            source: "https://learn.microsoft.com/x".into(),
            action: "A.".into(),
            blocks: BTreeMap::from([(Method::MiLink, "why".to_owned())]),
            per_database: false,
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
                    "in-memory-oltp",
                    "db",
                    Severity::Warning,
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
        assert_eq!(login.status, ObjectStatus::Refused);
        let notes = login.notes.as_deref().unwrap();
        assert!(
            notes.contains("A\\x: d; A\\y: d") && notes.contains("mi-link (why)"),
            "{notes}"
        );
        assert!(notes.contains("business-critical: none"), "{notes}");
        let bc = finding_rows(
            "db",
            &[f("r", "o", Severity::Blocker, Some(Severity::Info))],
            TargetTier::BusinessCritical,
        );
        assert_eq!(bc[0].status, ObjectStatus::Skipped);
        // A finding that does not concern the tier has no row.
        assert!(
            finding_rows(
                "db",
                &[f("r", "o", Severity::Blocker, None)],
                TargetTier::BusinessCritical
            )
            .is_empty()
        );
        assert_eq!(status(Severity::Warning), ObjectStatus::Warning);
    }
}
