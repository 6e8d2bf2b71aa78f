//! The Log Replay Service's restore plan: from the headers of every file in a database's
//! folder (never their names), which backup sets to restore and in what order, or the LRS
//! error code that stops the job (methods.md §0.4 chain rules, §2.5 codes).

use std::collections::BTreeMap;

use crate::backup::{BackupHeader, BackupType};

/// One backup set to restore: its files (stripes, in stripe order) and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSet {
    pub files: Vec<String>,
    pub header: BackupHeader,
}

/// The sets to restore, in order, and the complete sets found that the plan leaves out (older
/// than its base, or duplicates): LRS lists those as `Skipped`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub sets: Vec<PlannedSet>,
    pub skipped: Vec<PlannedSet>,
}

/// Why there is no plan: an LRS error code and its message.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: String) -> PlanError {
    PlanError { code, message }
}

/// The plan: the newest full backup, the newest differential based on it, then the log
/// backups that continue from there without a gap. Sets that are not part of it are skipped
/// (older sets, duplicates); files that are not backups are reported unrestorable by the
/// caller before this is called.
pub fn plan(files: &[(String, BackupHeader)]) -> Result<Plan, PlanError> {
    // Rule 1: one database per folder.
    let mut names: Vec<&str> = files.iter().map(|(_, h)| h.database.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() > 1 {
        return Err(err(
            "BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart",
            format!(
                "The folder holds backups of more than one database ({}); LRS needs one folder per database.",
                names.join(", ")
            ),
        ));
    }
    // Stripes of one backup set share its BackupSetGUID.
    let mut sets: BTreeMap<&str, Vec<&(String, BackupHeader)>> = BTreeMap::new();
    for f in files {
        sets.entry(f.1.backup_set_guid.as_str())
            .or_default()
            .push(f);
    }
    let mut complete: Vec<PlannedSet> = Vec::new();
    for (guid, mut stripes) in sets {
        stripes.sort_by_key(|(_, h)| h.stripe_index);
        stripes.dedup_by_key(|(_, h)| h.stripe_index);
        let want = stripes[0].1.stripe_count.max(1) as usize;
        if stripes.len() != want {
            // Rule 2: every stripe of a set must be there.
            return Err(err(
                "MissingStripeInBackupSet",
                format!(
                    "Backup set {guid} has {} of its {want} stripes in the folder ({}).",
                    stripes.len(),
                    stripes
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        complete.push(PlannedSet {
            files: stripes.iter().map(|(n, _)| n.clone()).collect(),
            header: stripes[0].1.clone(),
        });
    }
    let of = |t: BackupType| -> Vec<&PlannedSet> {
        let mut v: Vec<&PlannedSet> = complete
            .iter()
            .filter(|s| s.header.backup_type == t)
            .collect();
        // Two logs with nothing in them have the same LSNs (the emulator's LSNs count
        // changes; SQL Server's advance anyway): the one taken later comes later.
        v.sort_by(|a, b| {
            (a.header.last_lsn, &a.header.backup_start)
                .cmp(&(b.header.last_lsn, &b.header.backup_start))
        });
        v
    };
    let Some(full) = of(BackupType::Full).last().copied() else {
        return Err(err(
            "BrokenRestorePlanNoFullBackup",
            "No full backup was found in the folder; a restore plan starts with one.".into(),
        ));
    };
    let mut plan = vec![full.clone()];
    // Rule 3: the newest differential whose base is this full.
    let diffs: Vec<&PlannedSet> = of(BackupType::Differential)
        .into_iter()
        .filter(|d| d.header.last_lsn > full.header.last_lsn)
        .collect();
    if let Some(d) = diffs.last() {
        if d.header.differential_base_guid.as_deref() != Some(full.header.backup_set_guid.as_str())
        {
            return Err(err(
                "BrokenRestorePlanWrongDiffBaseGUID",
                format!(
                    "The differential backup in {} is based on backup set {}, not on the full backup {} in the folder.",
                    d.files[0],
                    d.header
                        .differential_base_guid
                        .as_deref()
                        .unwrap_or("(none)"),
                    full.header.backup_set_guid
                ),
            ));
        }
        plan.push((*d).clone());
    }
    // Rules 4 and 5: logs continue from the base without a gap; older ones are skipped.
    let mut at = plan.last().map_or(0, |s| s.header.last_lsn);
    let mut first = true;
    for log in of(BackupType::Log) {
        // Older logs are skipped. A log that starts and ends at the base (nothing was logged
        // in between; the emulator's LSNs count changes) continues the chain as it is.
        let empty_continuation = log.header.first_lsn == at && log.header.last_lsn == at;
        if log.header.last_lsn < at || (log.header.last_lsn == at && !empty_continuation) {
            continue;
        }
        if first && log.header.first_lsn > at {
            return Err(err(
                "BrokenRestorePlanWrongLogBackupLSN",
                format!(
                    "The first log backup after the base ({}) starts at LSN {}, after the base's last LSN {at}.",
                    log.files[0], log.header.first_lsn
                ),
            ));
        }
        if !first && log.header.first_lsn != at {
            return Err(err(
                "BrokenRestorePlanGapInLogBackups",
                format!(
                    "The log backup {} starts at LSN {} but the one before it ends at {at}: a log backup is missing.",
                    log.files[0], log.header.first_lsn
                ),
            ));
        }
        first = false;
        at = log.header.last_lsn;
        plan.push(log.clone());
    }
    let used: Vec<&str> = plan
        .iter()
        .map(|s| s.header.backup_set_guid.as_str())
        .collect();
    let skipped = complete
        .iter()
        .filter(|s| !used.contains(&s.header.backup_set_guid.as_str()))
        .cloned()
        .collect();
    Ok(Plan {
        sets: plan,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(db: &str, t: BackupType, guid: &str, first: i64, last: i64) -> BackupHeader {
        BackupHeader {
            database: db.into(),
            backup_type: t,
            first_lsn: first,
            last_lsn: last,
            checkpoint_lsn: last,
            database_backup_lsn: 0,
            differential_base_guid: None,
            backup_set_guid: guid.into(),
            family_guid: "fam".into(),
            copy_only: false,
            checksum: true,
            compressed: false,
            stripe_index: 1,
            stripe_count: 1,
            tde_thumbprint: None,
            server_name: "SRC".into(),
            recovery_model: "FULL".into(),
            compatibility_level: 150,
            software_version: "15.0".into(),
            backup_start: String::new(),
            backup_finish: String::new(),
            backup_size: 1,
        }
    }

    fn f(name: &str, header: BackupHeader) -> (String, BackupHeader) {
        (name.into(), header)
    }

    fn chain() -> Vec<(String, BackupHeader)> {
        let mut diff = h("Sales", BackupType::Differential, "d1", 10, 15);
        diff.differential_base_guid = Some("f1".into());
        vec![
            // Names deliberately out of order: the plan follows the headers.
            f("z_full.bak", h("Sales", BackupType::Full, "f1", 1, 10)),
            f("a_log2.trn", h("Sales", BackupType::Log, "l2", 18, 22)),
            f("m_diff.bak", diff),
            f("b_log1.trn", h("Sales", BackupType::Log, "l1", 12, 18)),
            f("c_old_log.trn", h("Sales", BackupType::Log, "l0", 5, 12)),
        ]
    }

    #[test]
    fn the_plan_follows_headers_not_names() {
        let p = plan(&chain()).unwrap();
        let order: Vec<&str> = p.sets.iter().map(|s| s.files[0].as_str()).collect();
        assert_eq!(
            order,
            ["z_full.bak", "m_diff.bak", "b_log1.trn", "a_log2.trn"]
        );
        let skipped: Vec<&str> = p.skipped.iter().map(|s| s.files[0].as_str()).collect();
        assert_eq!(
            skipped,
            ["c_old_log.trn"],
            "a log older than the diff is skipped"
        );
    }

    #[test]
    fn a_log_with_nothing_in_it_continues_the_chain() {
        let files = vec![
            f("full.bak", h("Sales", BackupType::Full, "f1", 1, 10)),
            f("log1.trn", h("Sales", BackupType::Log, "l1", 10, 10)),
            f("tail.trn", h("Sales", BackupType::Log, "l2", 10, 12)),
        ];
        let p = plan(&files).unwrap();
        let order: Vec<&str> = p.sets.iter().map(|s| s.files[0].as_str()).collect();
        assert_eq!(order, ["full.bak", "log1.trn", "tail.trn"]);
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn empty_logs_with_the_same_lsns_restore_in_the_order_they_were_taken() {
        let mut first = h("Sales", BackupType::Log, "zz", 10, 10);
        first.backup_start = "2026-11-26 17:36:11.1000000".into();
        let mut tail = h("Sales", BackupType::Log, "aa", 10, 10);
        tail.backup_start = "2026-11-26 17:36:11.2000000".into();
        let files = vec![
            f("full.bak", h("Sales", BackupType::Full, "f1", 1, 10)),
            f("tail.trn", tail),
            f("log1.trn", first),
        ];
        let p = plan(&files).unwrap();
        let order: Vec<&str> = p.sets.iter().map(|s| s.files[0].as_str()).collect();
        assert_eq!(order, ["full.bak", "log1.trn", "tail.trn"]);
    }

    #[test]
    fn each_broken_chain_has_its_lrs_code() {
        let mut other_db = chain();
        other_db.push(f("hr.bak", h("Hr", BackupType::Full, "x", 1, 3)));
        let mut no_full = chain();
        no_full.remove(0);
        let mut gap = chain();
        gap.push(f("log4.trn", h("Sales", BackupType::Log, "l4", 30, 35)));
        let mut wrong_base = chain();
        wrong_base[2].1.differential_base_guid = Some("other".into());
        let mut missing_stripe = chain();
        missing_stripe[0].1.stripe_count = 2;
        let first_log_late = vec![
            f("full.bak", h("Sales", BackupType::Full, "f1", 1, 10)),
            f("log.trn", h("Sales", BackupType::Log, "l1", 12, 18)),
        ];
        for (files, code) in [
            (
                other_db,
                "BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart",
            ),
            (no_full, "BrokenRestorePlanNoFullBackup"),
            (gap, "BrokenRestorePlanGapInLogBackups"),
            (wrong_base, "BrokenRestorePlanWrongDiffBaseGUID"),
            (missing_stripe, "MissingStripeInBackupSet"),
            (first_log_late, "BrokenRestorePlanWrongLogBackupLSN"),
        ] {
            assert_eq!(plan(&files).map(|_| ()).unwrap_err().code, code);
        }
    }
}
