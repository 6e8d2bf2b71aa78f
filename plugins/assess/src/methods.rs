//! Which method can move each database, and which one to use.
//!
//! A method cannot move the database when a finding blocks it (the rule's `blocks`: the link
//! below its build, LRS without FULL recovery, …) or when any finding is a blocker on the
//! chosen tier (then nothing moves it there until that is fixed).
//!
//! The pick, in a sentence each (methods.md §8):
//! - minimal downtime, a large database: the link (seconds at failover, the copy readable while
//!   it runs, no backups to stage), else LRS (minutes: the last log backup), else DMS (LRS
//!   driven by Azure), else native restore (downtime = full backup + copy + restore);
//! - minimal downtime, a small database: LRS first (only outbound HTTPS to blob, no
//!   availability group to set up), then the link, DMS, native;
//! - an offline window, a small database: native restore (the fewest moving parts), then LRS,
//!   DMS, the link; a large one: LRS (autocomplete) first, as a full backup and restore may not
//!   fit the window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Downtime, TargetTier};
use crate::rules::{Finding, Method, Severity};

/// The methods for one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub database: String,
    pub size_gb: u64,
    /// Why each method cannot move it (an empty list: it can).
    pub methods: BTreeMap<Method, Vec<String>>,
    pub pick: Option<Method>,
    pub rationale: String,
}

/// `c` for a database in `state` other than ONLINE: no method moves it as it is. BACKUP
/// DATABASE (native, LRS, DMS) cannot open it (SQL Server errors 927 "It is in the middle of a
/// restore", 942 "because it is offline"), nor can the link join it to an availability group.
pub fn not_online(mut c: Choice, state: &str) -> Choice {
    let why = format!("the database is {state}: a backup or the link needs it ONLINE");
    for v in c.methods.values_mut() {
        v.push(why.clone());
    }
    c.pick = None;
    c.rationale = format!(
        "no method can move {} while it is {state}: bring it ONLINE and assess again",
        c.database
    );
    c
}

/// The preference order for a database of `large` size under `downtime`.
pub fn preference(downtime: Downtime, large: bool) -> [Method; 4] {
    use Method::*;
    match (downtime, large) {
        (Downtime::Minimal, true) => [MiLink, Lrs, Dms, Native],
        (Downtime::Minimal, false) => [Lrs, MiLink, Dms, Native],
        (Downtime::OfflineWindow, false) => [Native, Lrs, Dms, MiLink],
        (Downtime::OfflineWindow, true) => [Lrs, Dms, MiLink, Native],
    }
}

/// Chooses for database `db` of `size_bytes` from `findings` (its own and the instance's
/// per-database ones), judged on `tier`.
pub fn choose(
    db: &str,
    size_bytes: u64,
    findings: &[&Finding],
    tier: TargetTier,
    cfg: &Config,
) -> Choice {
    let mut methods: BTreeMap<Method, Vec<String>> =
        Method::ALL.iter().map(|&m| (m, Vec::new())).collect();
    let mut tier_blockers = Vec::new();
    for f in findings {
        let blocks = f.rule().map(|r| &r.blocks).into_iter().flatten();
        for (m, why) in blocks {
            let text = format!("{} ({}): {why}", f.rule, f.detail);
            let list = methods.entry(*m).or_default();
            if !list.contains(&text) {
                list.push(text);
            }
        }
        // By rule id once: a rule that found fifty FileTables is one reason.
        if f.on(tier) == Some(Severity::Blocker) && !tier_blockers.contains(&f.rule.as_str()) {
            tier_blockers.push(f.rule.as_str());
        }
    }
    if !tier_blockers.is_empty() {
        let why = format!(
            "blocked on {}: {}",
            tier.tier().describe(),
            tier_blockers.join(", ")
        );
        for v in methods.values_mut() {
            v.push(why.clone());
        }
    }
    let size_gb = size_bytes.div_ceil(1 << 30);
    let large = size_gb >= cfg.large_database_gb;
    let order = preference(cfg.downtime, large);
    let pick = order
        .iter()
        .copied()
        .find(|m| methods.get(m).is_some_and(Vec::is_empty));
    let size = if large {
        format!(
            "large ({size_gb} GB ≥ large_database_gb = {})",
            cfg.large_database_gb
        )
    } else {
        format!(
            "small ({size_gb} GB < large_database_gb = {})",
            cfg.large_database_gb
        )
    };
    let downtime = match cfg.downtime {
        Downtime::Minimal => "minimal downtime",
        Downtime::OfflineWindow => "an offline window",
    };
    let order_text: Vec<&str> = order.iter().map(|m| m.key()).collect();
    let rationale = match pick {
        Some(m) => {
            let skipped: Vec<String> = order
                .iter()
                .take_while(|o| **o != m)
                .map(|o| format!("{} cannot ({})", o.key(), methods[o].join("; ")))
                .collect();
            let mut r = format!(
                "{db} is {size} and the migration asks for {downtime}: the order is {}; {} is the \
                 first that can move it",
                order_text.join(", "),
                m.key()
            );
            if !skipped.is_empty() {
                r.push_str(&format!(" ({})", skipped.join("; ")));
            }
            r
        }
        None => format!(
            "no method can move {db} to {} until its blockers are fixed",
            tier.tier().describe()
        ),
    };
    Choice {
        database: db.to_owned(),
        size_gb,
        methods,
        pick,
        rationale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding of rule `rule` (its blocks are the rule file's), a blocker on every tier or
    /// an info.
    fn finding(rule: &str, blocker: bool) -> Finding {
        let sev = if blocker {
            Severity::Blocker
        } else {
            Severity::Info
        };
        Finding {
            rule: rule.into(),
            object: "Sales".into(),
            detail: "d".into(),
            severity: TargetTier::ALL.iter().map(|&t| (t, sev)).collect(),
        }
    }

    const GB: u64 = 1 << 30;

    #[test]
    fn the_pick_follows_size_and_downtime() {
        let mut cfg = Config::default();
        let gp = TargetTier::GeneralPurpose;
        assert_eq!(
            choose("a", 500 * GB, &[], gp, &cfg).pick,
            Some(Method::MiLink)
        );
        assert_eq!(choose("a", 5 * GB, &[], gp, &cfg).pick, Some(Method::Lrs));
        cfg.downtime = Downtime::OfflineWindow;
        assert_eq!(
            choose("a", 5 * GB, &[], gp, &cfg).pick,
            Some(Method::Native)
        );
        assert_eq!(choose("a", 500 * GB, &[], gp, &cfg).pick, Some(Method::Lrs));
    }

    #[test]
    fn blocked_methods_are_skipped_with_why_and_tier_blockers_stop_all() {
        let cfg = Config::default();
        let gp = TargetTier::GeneralPurpose;
        let old = finding("link-version", false);
        let c = choose("Sales", 500 * GB, &[&old], gp, &cfg);
        assert_eq!(c.pick, Some(Method::Lrs));
        assert!(
            c.rationale
                .contains("mi-link cannot (link-version (d): the source's build"),
            "{}",
            c.rationale
        );
        assert!(c.methods[&Method::Native].is_empty());
        let simple = finding("recovery-model", false);
        assert_eq!(
            choose("Sales", 500 * GB, &[&simple], gp, &cfg).pick,
            Some(Method::Native)
        );
        let fs = finding("filetable", true);
        let fs2 = Finding {
            object: "Sales.dbo.Other".into(),
            ..fs.clone()
        };
        let none = choose("Sales", GB, &[&fs, &fs2], gp, &cfg);
        assert_eq!(none.pick, None);
        // One reason per rule, however many objects it found.
        assert_eq!(
            none.methods[&Method::Native],
            ["blocked on General Purpose: filetable"]
        );
        assert!(none.rationale.contains("no method"));
    }

    #[test]
    fn a_database_not_online_gets_no_method() {
        let cfg = Config::default();
        let c = not_online(
            choose("Copy", GB, &[], TargetTier::GeneralPurpose, &cfg),
            "RESTORING",
        );
        assert_eq!(c.pick, None);
        assert!(
            c.methods
                .values()
                .all(|v| v.iter().any(|w| w.contains("the database is RESTORING")))
        );
        assert!(
            c.rationale.contains("while it is RESTORING"),
            "{}",
            c.rationale
        );
    }
}
