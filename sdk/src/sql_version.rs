//! Which SQL Server a source is, read from `SERVERPROPERTY('ProductVersion')`, and which
//! versions a Managed Instance restores under its update policy.
//!
//! `ProductVersion` is `major.minor.build.revision` on every version since SQL Server 2000.
//! `ProductMajorVersion` is not: it is NULL before the late-2015 updates of SQL Server 2012 and
//! absent on 2008 and 2008 R2 ("SERVERPROPERTY", sql-docs), so a gate on it would read 0 there.

/// A SQL Server version. Versions order by major, minor, then build; the revision is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SqlVersion {
    /// The release: 10 is SQL Server 2008 (and 2008 R2), 16 is 2022.
    pub major: u32,
    /// What tells SQL Server 2008 R2 (10.50) from 2008 (10.0).
    pub minor: u32,
    /// The build: each cumulative update or GDR of a release raises it.
    pub build: u32,
}

impl SqlVersion {
    /// `13.0.6300.2` → 13.0.6300; None for anything that is not a version.
    pub fn parse(product_version: &str) -> Option<SqlVersion> {
        let mut parts = product_version.trim().split('.');
        let mut next = || parts.next().and_then(|p| p.trim().parse::<u32>().ok());
        let major = next()?;
        let minor = next().unwrap_or(0);
        let build = next().unwrap_or(0);
        Some(SqlVersion {
            major,
            minor,
            build,
        })
    }

    /// The release's name ("SQL Server 2008 R2"), from its major and minor version.
    pub fn release(&self) -> String {
        let year = match (self.major, self.minor) {
            (10, 50) => "2008 R2",
            (10, _) => "2008",
            (11, _) => "2012",
            (12, _) => "2014",
            (13, _) => "2016",
            (14, _) => "2017",
            (15, _) => "2019",
            (16, _) => "2022",
            (17, _) => "2025",
            _ => return format!("SQL Server version {}.{}", self.major, self.minor),
        };
        format!("SQL Server {year}")
    }
}

/// A Managed Instance's update policy ("Update policy in Azure SQL Managed Instance",
/// sql-docs): the SQL Server release its database format is aligned with, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdatePolicy {
    /// Aligned with SQL Server 2022: restores backups up to SQL Server 2022 (major 16). The
    /// default.
    SqlServer2022,
    /// Aligned with SQL Server 2025: restores backups up to SQL Server 2025 (major 17).
    SqlServer2025,
    /// The newest engine, aligned with no release: no source is too new for it.
    AlwaysUpToDate,
}

impl UpdatePolicy {
    /// From ARM's `properties.databaseFormat` (`SQLServer2022`, `SQLServer2025`,
    /// `AlwaysUpToDate`, compared without case). An instance without the property predates
    /// the choice and has the SQL Server 2022 policy, the default for every instance.
    pub fn from_database_format(format: Option<&str>) -> UpdatePolicy {
        match format.map(str::to_ascii_lowercase).as_deref() {
            Some("alwaysuptodate") => UpdatePolicy::AlwaysUpToDate,
            Some("sqlserver2025") => UpdatePolicy::SqlServer2025,
            _ => UpdatePolicy::SqlServer2022,
        }
    }

    /// From `SERVERPROPERTY('ProductUpdateType')` on the MI: `Continuous` is Always-up-to-date;
    /// `CU` is the SQL Server 2022 or 2025 policy, which T-SQL cannot tell apart, so the
    /// stricter 2022 is assumed (as for anything else, such as NULL).
    pub fn from_product_update_type(update_type: &str) -> UpdatePolicy {
        if update_type.trim().eq_ignore_ascii_case("Continuous") {
            UpdatePolicy::AlwaysUpToDate
        } else {
            UpdatePolicy::SqlServer2022
        }
    }

    /// The newest major version whose backups the instance restores: backups of a newer SQL
    /// Server fail with error 3169 ("The database was backed up on a server running a newer
    /// version").
    pub fn newest_major(self) -> Option<u32> {
        match self {
            UpdatePolicy::SqlServer2022 => Some(16),
            UpdatePolicy::SqlServer2025 => Some(17),
            UpdatePolicy::AlwaysUpToDate => None,
        }
    }

    /// The policy as a sentence names it: `the SQL Server 2022 update policy`.
    pub fn describe(self) -> &'static str {
        match self {
            UpdatePolicy::SqlServer2022 => "the SQL Server 2022 update policy",
            UpdatePolicy::SqlServer2025 => "the SQL Server 2025 update policy",
            UpdatePolicy::AlwaysUpToDate => "the Always-up-to-date update policy",
        }
    }
}

/// Why a Managed Instance under `policy` cannot restore a backup of `source` (error 3169's
/// meaning), or None.
pub fn newer_than_policy(source: SqlVersion, policy: UpdatePolicy) -> Option<String> {
    let newest = policy.newest_major()?;
    (source.major > newest).then(|| {
        format!(
            "the source is {} ({}.{}.{}), newer than the Managed Instance restores under {}: the \
             restore would fail with error 3169 (backed up on a server running a newer version). \
             Move the instance to a newer update policy first",
            source.release(),
            source.major,
            source.minor,
            source.build,
            policy.describe()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_product_version_on_every_release() {
        let v = |s: &str| SqlVersion::parse(s).unwrap();
        assert_eq!(v("10.0.6000.29").release(), "SQL Server 2008");
        assert_eq!(v("10.50.6000.34").release(), "SQL Server 2008 R2");
        assert_eq!(v("11.0.2100.60").release(), "SQL Server 2012");
        assert_eq!(
            v("16.0.1000.6"),
            SqlVersion {
                major: 16,
                minor: 0,
                build: 1000
            }
        );
        assert!(v("10.50.1600.1") > v("10.0.6000.29"));
        assert_eq!(SqlVersion::parse(""), None);
        assert_eq!(SqlVersion::parse("SQL Azure"), None);
    }

    #[test]
    fn the_update_policy_bounds_the_source_version() {
        let v2025 = SqlVersion::parse("17.0.1000.7").unwrap();
        let v2022 = SqlVersion::parse("16.0.4135.4").unwrap();
        let p = UpdatePolicy::from_database_format;
        assert!(newer_than_policy(v2025, p(None)).unwrap().contains("3169"));
        assert!(newer_than_policy(v2025, p(Some("SQLServer2022"))).is_some());
        assert_eq!(newer_than_policy(v2025, p(Some("SQLServer2025"))), None);
        assert_eq!(newer_than_policy(v2025, p(Some("AlwaysUpToDate"))), None);
        assert_eq!(newer_than_policy(v2022, p(None)), None);
        let t = UpdatePolicy::from_product_update_type;
        assert_eq!(t("Continuous"), UpdatePolicy::AlwaysUpToDate);
        assert_eq!(t("CU"), UpdatePolicy::SqlServer2022);
        assert_eq!(t(""), UpdatePolicy::SqlServer2022);
    }
}
