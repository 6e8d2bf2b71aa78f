//! The backup chain a database already has, read from the source's msdb history (methods.md
//! §0.4): the newest full, the newest differential based on it, and the log backups after —
//! with every gap and every file outside the database's folder reported before LRS starts,
//! instead of an hour later as an LRS error.

/// One row of `msdb.dbo.backupset` joined to `backupmediafamily` (one per stripe).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub set: String,
    /// `D` full, `I` differential, `L` log.
    pub kind: char,
    pub first_lsn: i128,
    pub last_lsn: i128,
    pub checksum: bool,
    pub diff_base: Option<String>,
    pub device: String,
}

/// What LRS will restore, in order, and what deserves a warning.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chain {
    /// Every stripe, in restore order: device URLs for [`Folder::Blob`], share paths
    /// (`folder/file`) for [`Folder::Share`].
    pub files: Vec<String>,
    /// How many of `files` are the first backup set's stripes (the full backup).
    pub first_set: usize,
    pub warnings: Vec<String>,
}

/// Where the chain's files must be.
#[derive(Debug, Clone, Copy)]
pub enum Folder<'a> {
    /// The database's blob folder: SQL Server backed up TO URL straight into it.
    Blob(&'a str),
    /// A folder on a share (`path` relative to the share label), holding the files `names`:
    /// SQL Server backed up TO DISK there, under whatever path it sees the share by, so a
    /// device is found by its file name.
    Share {
        label: &'a str,
        path: &'a str,
        names: &'a [String],
    },
}

impl Folder<'_> {
    /// Where `device` is in this folder, or None when it is elsewhere.
    fn locate(&self, device: &str) -> Option<String> {
        match self {
            Folder::Blob(url) => {
                let prefix = format!("{}/", url.trim_end_matches('/'));
                let rest = device.strip_prefix(&prefix)?;
                (!rest.contains('/')).then(|| device.to_owned())
            }
            Folder::Share { path, names, .. } => {
                let file = device.rsplit(['/', '\\']).next().unwrap_or(device);
                names
                    .iter()
                    .any(|n| n == file)
                    .then(|| format!("{path}/{file}"))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Folder::Blob(url) => format!("{}/", url.trim_end_matches('/')),
            Folder::Share { label, path, .. } => format!("`{path}/` on share `{label}`"),
        }
    }
}

/// Builds the chain LRS will find in `folder` from the history rows of one database.
pub fn chain(rows: &[HistoryRow], folder: Folder<'_>) -> Result<Chain, String> {
    let mut sets: Vec<(&str, Vec<&HistoryRow>)> = Vec::new();
    for r in rows {
        match sets.iter_mut().find(|(s, _)| *s == r.set) {
            Some((_, v)) => v.push(r),
            None => sets.push((&r.set, vec![r])),
        }
    }
    let newest = |kind: char| {
        sets.iter()
            .filter(|(_, v)| v[0].kind == kind)
            .max_by_key(|(_, v)| v[0].last_lsn)
    };
    let Some(full) = newest('D') else {
        return Err(
            "msdb has no full backup of this database; take one TO URL into its folder".into(),
        );
    };
    let mut plan = vec![full];
    if let Some(diff) = sets
        .iter()
        .filter(|(_, v)| {
            v[0].kind == 'I'
                && v[0].diff_base.as_deref() == Some(full.0)
                && v[0].last_lsn > full.1[0].last_lsn
        })
        .max_by_key(|(_, v)| v[0].last_lsn)
    {
        plan.push(diff);
    }
    let mut at = plan.last().map_or(0, |(_, v)| v[0].last_lsn);
    let mut logs: Vec<&(&str, Vec<&HistoryRow>)> = sets
        .iter()
        .filter(|(_, v)| v[0].kind == 'L' && v[0].last_lsn > at)
        .collect();
    logs.sort_by_key(|(_, v)| v[0].first_lsn);
    for (i, log) in logs.into_iter().enumerate() {
        let first = log.1[0].first_lsn;
        if (i == 0 && first > at) || (i > 0 && first != at) {
            return Err(format!(
                "msdb shows a gap in the log chain: nothing covers LSN {at} to {first}; take a new \
                 full backup into the folder, or find the missing log backup"
            ));
        }
        at = log.1[0].last_lsn;
        plan.push(log);
    }
    let mut out = Chain {
        first_set: full.1.len(),
        ..Chain::default()
    };
    for (set, stripes) in plan {
        for s in stripes {
            let Some(file) = folder.locate(&s.device) else {
                return Err(format!(
                    "backup set {set} is at {}, not in {}; LRS reads one flat folder per \
                     database, so copy it there",
                    s.device,
                    folder.describe()
                ));
            };
            out.files.push(file);
        }
        if !stripes[0].checksum {
            out.warnings.push(format!(
                "backup set {set} was taken without CHECKSUM; LRS then runs a slower integrity \
                 check and may miss damage"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "https://a.blob.core.windows.net/m/Sales";

    fn row(set: &str, kind: char, first: i128, last: i128, device: &str) -> HistoryRow {
        HistoryRow {
            set: set.into(),
            kind,
            first_lsn: first,
            last_lsn: last,
            checksum: true,
            diff_base: None,
            device: format!("{F}/{device}"),
        }
    }

    #[test]
    fn the_chain_runs_from_the_newest_full_through_contiguous_logs() {
        let mut diff = row("d1", 'I', 10, 15, "diff.bak");
        diff.diff_base = Some("f2".into());
        let rows = vec![
            row("f1", 'D', 1, 5, "old_full.bak"),
            row("l0", 'L', 1, 8, "old_log.trn"),
            row("f2", 'D', 1, 10, "full_1.bak"),
            row("f2", 'D', 1, 10, "full_2.bak"),
            diff,
            row("l1", 'L', 12, 18, "log1.trn"),
            row("l2", 'L', 18, 22, "log2.trn"),
        ];
        let c = chain(&rows, Folder::Blob(F)).unwrap();
        let names: Vec<&str> = c
            .files
            .iter()
            .map(|f| f.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "full_1.bak",
                "full_2.bak",
                "diff.bak",
                "log1.trn",
                "log2.trn"
            ]
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn gaps_and_files_outside_the_folder_are_refused_and_missing_checksums_warned() {
        let gap = vec![
            row("f", 'D', 1, 10, "full.bak"),
            row("l1", 'L', 8, 12, "log1.trn"),
            row("l3", 'L', 15, 20, "log3.trn"),
        ];
        let sentence = chain(&gap, Folder::Blob(F)).unwrap_err();
        assert!(sentence.contains("LSN 12 to 15"), "{sentence}");
        assert!(!sentence.contains(['\\', '\n']), "one line: {sentence:?}");
        let mut outside = gap[..2].to_vec();
        outside[1].device = "https://a.blob.core.windows.net/m/elsewhere/log1.trn".into();
        assert!(
            chain(&outside, Folder::Blob(F))
                .unwrap_err()
                .contains("not in")
        );
        let mut nested = gap[..2].to_vec();
        nested[1].device = format!("{F}/old/log1.trn");
        assert!(
            chain(&nested, Folder::Blob(F))
                .unwrap_err()
                .contains("flat folder")
        );
        assert!(
            chain(&[], Folder::Blob(F))
                .unwrap_err()
                .contains("no full backup")
        );
        let mut unchecked = gap[..2].to_vec();
        unchecked[0].checksum = false;
        let warnings = chain(&unchecked, Folder::Blob(F)).unwrap().warnings;
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains(['\\', '\n']), "{:?}", warnings[0]);
    }

    #[test]
    fn on_a_share_devices_are_found_by_file_name_whatever_path_sql_server_saw() {
        let mut rows = vec![
            row("f", 'D', 1, 10, "full.bak"),
            row("l1", 'L', 10, 12, "log1.trn"),
        ];
        rows[0].device = r"\\fs01\sql\Sales\full.bak".into();
        rows[1].device = "/mnt/sql/Sales/log1.trn".into();
        let names = vec!["full.bak".to_owned(), "log1.trn".to_owned()];
        let share = Folder::Share {
            label: "share",
            path: "Sales",
            names: &names,
        };
        assert_eq!(
            chain(&rows, share).unwrap().files,
            ["Sales/full.bak", "Sales/log1.trn"]
        );
        let only_full = vec!["full.bak".to_owned()];
        let missing = Folder::Share {
            label: "share",
            path: "Sales",
            names: &only_full,
        };
        let why = chain(&rows, missing).unwrap_err();
        assert!(why.contains("not in `Sales/` on share `share`"), "{why}");
    }
}
