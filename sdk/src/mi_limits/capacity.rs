//! What a Managed Instance has room for: databases, files, storage, the size of one file
//! ("Resource limits for Azure SQL Managed Instance", sql-docs, service tier table). Each limit
//! a restore would hit is refused before anything is backed up, with the number MI or LRS
//! would answer hours later.

use super::Refusal;
use super::layout::FileLayout;
use super::tier::{FileLimit, Tier};

const TB: u64 = 1 << 40;

/// Max log file size on every tier.
const LOG_FILE_LIMIT: u64 = 2 * TB;

/// What ferry could read about the target instance; None where it could not.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// The service tier (ARM's `sku.tier` or `sys.server_resource_stats.sku`).
    pub tier: Option<Tier>,
    /// Reserved storage, MiB (`reserved_storage_mb`, or ARM's `storageSizeInGB` × 1024).
    pub reserved_mb: Option<u64>,
    /// Storage used by every database file, MiB (`storage_space_used_mb`).
    pub used_mb: Option<u64>,
    /// User databases on the instance now (restoring ones included).
    pub user_databases: Option<u64>,
    /// Database files on the instance now, tempdb's left out (it is on local storage).
    pub files: Option<u64>,
    /// Thumbprints (upper-case hex) of the certificates in master, when they could be read.
    pub certificates: Option<Vec<String>>,
}

impl Instance {
    /// The service tier, [`Tier::Unknown`] when it could not be read: the checks then apply
    /// General Purpose's limits, the tighter ones.
    pub fn tier(&self) -> Tier {
        self.tier.unwrap_or(Tier::Unknown)
    }

    /// Whether the instance holds the certificate with this thumbprint (upper-case hex), so
    /// a TDE database it protects can be restored there.
    pub fn has_certificate(&self, thumbprint: &str) -> bool {
        !thumbprint.is_empty()
            && self
                .certificates
                .as_ref()
                .is_some_and(|c| c.iter().any(|t| t.eq_ignore_ascii_case(thumbprint)))
    }

    /// What could not be read, as a list for a sentence, or None when all was: the checks that
    /// need it are skipped, and an unknown tier gets General Purpose's limits.
    pub fn unchecked(&self) -> Option<String> {
        let mut missing = Vec::new();
        if self.tier.is_none_or(|t| t == Tier::Unknown) {
            missing.push("its service tier");
        }
        if self.reserved_mb.is_none() || self.used_mb.is_none() {
            missing.push("its free storage");
        }
        if self.user_databases.is_none() {
            missing.push("how many databases it holds");
        }
        if self.files.is_none() && self.tier() != Tier::BusinessCritical {
            missing.push("how many database files it holds");
        }
        (!missing.is_empty()).then(|| missing.join(", "))
    }
}

/// The first limit of `mi` that restoring `db` (its files as `layout`) would pass.
pub fn capacity_stop(db: &str, layout: &FileLayout, mi: &Instance) -> Option<Refusal> {
    let tier = mi.tier();
    if let Some(n) = mi.user_databases
        && n + 1 > tier.database_limit()
    {
        return Some(Refusal::new(
            "database-count",
            format!(
                "the Managed Instance ({}) already holds {n} databases, its limit is {}: [{db}] \
                 would fail with error 41912 (LRS: DatabaseNumberLimitReached). Make room or \
                 choose another instance",
                tier.describe(),
                tier.database_limit()
            ),
        ));
    }
    let size = layout.size_bytes();
    if let (Some(reserved), Some(used)) = (mi.reserved_mb, mi.used_mb) {
        let free = reserved.saturating_sub(used) << 20;
        if size > free {
            return Some(Refusal::new(
                "storage",
                format!(
                    "[{db}]'s files take {} GiB and the Managed Instance has {} GiB free ({} of \
                     {} GiB used): the restore would stop at the storage limit \
                     (NoMoreSpaceInManagedInstance, ManagedInstanceStorageLimitHit). Raise the \
                     instance's storage or shrink the database's files first",
                    size >> 30,
                    free >> 30,
                    used >> 10,
                    reserved >> 10
                ),
            ));
        }
    }
    let count = layout.files.len() as u64;
    let files = match tier.file_limit() {
        FileLimit::PerInstance(cap) => mi
            .files
            .filter(|now| now + count > cap)
            .map(|now| format!("{count} files, and the instance holds {now} of its {cap}")),
        FileLimit::PerDatabase(cap) => (count > cap).then(|| format!("{count} files of {cap}")),
    };
    if let Some(why) = files {
        return Some(Refusal::new(
            "file-count",
            format!(
                "[{db}] has {why} ({}): the restore would fail with error 41916 (maximum number \
                 of files reached). Merge files on the source first",
                tier.describe()
            ),
        ));
    }
    let too_big = layout.files.iter().find(|f| match f.kind.is_log() {
        true => f.size_bytes > LOG_FILE_LIMIT,
        false => tier.data_file_limit().is_some_and(|cap| f.size_bytes > cap),
    });
    too_big.map(|f| {
        Refusal::new(
            "file-size",
            format!(
                "[{db}] has a {} file of {} GiB; a Managed Instance ({}) takes log files up to 2 \
                 TB and, on General Purpose, data files up to 8 TB. Split the data over more \
                 files (or shrink the log) on the source first",
                if f.kind.is_log() { "log" } else { "data" },
                f.size_bytes >> 30,
                tier.describe()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::layout::{DbFile, FileKind};
    use super::*;

    fn layout(files: &[(FileKind, u64)]) -> FileLayout {
        FileLayout {
            files: files
                .iter()
                .map(|&(kind, size_bytes)| DbFile { kind, size_bytes })
                .collect(),
            ..FileLayout::default()
        }
    }

    fn gp() -> Instance {
        Instance {
            tier: Some(Tier::GeneralPurpose),
            reserved_mb: Some(1024 * 1024),
            used_mb: Some(1000 * 1024),
            user_databases: Some(10),
            files: Some(30),
            certificates: Some(vec!["AB12".into()]),
        }
    }

    #[test]
    fn a_certificate_is_found_by_thumbprint_in_any_case() {
        assert!(gp().has_certificate("ab12"));
        assert!(!gp().has_certificate("AB13"));
        assert!(!gp().has_certificate(""));
        assert!(!Instance::default().has_certificate("AB12"));
    }

    #[test]
    fn each_limit_is_named_with_the_number_the_restore_would_fail_with() {
        let small = layout(&[(FileKind::Rows, 1 << 30), (FileKind::Log, 1 << 30)]);
        assert_eq!(capacity_stop("db", &small, &gp()), None);
        let full = Instance {
            user_databases: Some(100),
            ..gp()
        };
        assert_eq!(
            capacity_stop("db", &small, &full).unwrap().code,
            "database-count"
        );
        let next_gen = Instance {
            tier: Some(Tier::NextGenGeneralPurpose),
            ..full.clone()
        };
        assert_eq!(capacity_stop("db", &small, &next_gen), None);
        // 24 GiB free; a 30 GiB database does not fit.
        let big = layout(&[(FileKind::Rows, 30 << 30)]);
        let s = capacity_stop("db", &big, &gp()).unwrap();
        assert_eq!(s.code, "storage", "{}", s.reason);
        assert!(s.reason.contains("24 GiB free"), "{}", s.reason);
        let crowded = Instance {
            files: Some(279),
            ..gp()
        };
        let s = capacity_stop("db", &small, &crowded).unwrap();
        assert!(
            s.code == "file-count" && s.reason.contains("41916"),
            "{s:?}"
        );
        // Business Critical counts files per database, not per instance.
        let bc = Instance {
            tier: Some(Tier::BusinessCritical),
            ..crowded
        };
        assert_eq!(capacity_stop("db", &small, &bc), None);
        let huge_file = layout(&[(FileKind::Rows, 9 * TB)]);
        let roomy = Instance {
            reserved_mb: None,
            ..gp()
        };
        assert_eq!(
            capacity_stop("db", &huge_file, &roomy).unwrap().code,
            "file-size"
        );
        let bc_roomy = Instance {
            tier: Some(Tier::BusinessCritical),
            ..roomy
        };
        assert_eq!(capacity_stop("db", &huge_file, &bc_roomy), None);
        let huge_log = layout(&[(FileKind::Log, 3 * TB)]);
        assert_eq!(
            capacity_stop("db", &huge_log, &bc_roomy).unwrap().code,
            "file-size"
        );
    }

    #[test]
    fn what_could_not_be_read_is_said_and_general_purpose_assumed() {
        let unknown = Instance::default();
        let why = unknown.unchecked().unwrap();
        assert!(
            why.contains("service tier") && why.contains("free storage"),
            "{why}"
        );
        assert_eq!(gp().unchecked(), None);
        assert_eq!(
            Tier::from_sku("General Purpose", false),
            Tier::GeneralPurpose
        );
        assert_eq!(
            Tier::from_sku("GeneralPurpose", true),
            Tier::NextGenGeneralPurpose
        );
        assert_eq!(
            Tier::from_sku("BusinessCritical", false),
            Tier::BusinessCritical
        );
        assert_eq!(Tier::from_sku("Hyperscale", false), Tier::Unknown);
    }
}
