//! Which SQL Server can have a link, and what its version can do ("Prepare environment for
//! link", learn.microsoft.com, supported versions; methods.md §1.2).

use ferry_sdk::sql_version::{SqlVersion, UpdatePolicy};

/// The first build of each release that supports the link: 2016 SP3 with the Azure Connect
/// pack, 2017 CU31 with its Azure Connect pack, 2019 CU20, 2022 and 2025 RTM. The revision
/// (the fourth part) is not compared: no two of these builds differ only there.
const MINIMUM: [(u32, u32, &str); 5] = [
    (
        13,
        7000,
        "13.0.7000.253 (SQL Server 2016 SP3 with the Azure Connect pack)",
    ),
    (
        14,
        3490,
        "14.0.3490.10 (SQL Server 2017 CU31 with the Azure Connect pack)",
    ),
    (15, 4312, "15.0.4312.2 (SQL Server 2019 CU20)"),
    (16, 1000, "16.0.1000.6 (SQL Server 2022 RTM)"),
    (17, 1000, "17.0.1000.7 (SQL Server 2025 RTM)"),
];

/// SQL Server 2022 CU13 (KB5036432), the first build with T-SQL `ALTER AVAILABILITY GROUP
/// [dag] FAILOVER` for a link ("Fail over link").
const TSQL_FAILOVER_2022: u32 = 4125;

/// Why this version cannot have a link, or None.
pub fn refusal(v: SqlVersion) -> Option<String> {
    let found = format!("{}.{}.{}", v.major, v.minor, v.build);
    if v.major < 13 {
        return Some(format!(
            "{} ({found}) cannot have a Managed Instance link: the link needs SQL Server 2016 \
             SP3 with the Azure Connect pack or later. Use log shipping (LRS) or native \
             backup and restore instead",
            v.release()
        ));
    }
    let (_, build, needed) = MINIMUM.iter().find(|(m, ..)| *m == v.major).copied()?;
    (v.build < build).then(|| {
        format!(
            "{} build {found} is too old for the link: install at least {needed}, then run \
             `ferry apply --retry-failed`",
            v.release()
        )
    })
}

/// SQL Server 2016 has no `CLUSTER_TYPE`: its AG is made without it (and on a WSFC).
pub fn has_cluster_type(v: SqlVersion) -> bool {
    v.major >= 14
}

/// 2016–2019 replicate one way: cutover breaks the link (failing over would be refused).
pub fn one_way(v: SqlVersion) -> bool {
    v.major <= 15
}

/// Whether `ALTER AVAILABILITY GROUP [dag] FAILOVER` works on the source (2022 CU13+, 2025).
pub fn tsql_failover(v: SqlVersion) -> bool {
    v.major > 16 || (v.major == 16 && v.build >= TSQL_FAILOVER_2022)
}

/// Whether the MI can fail back to this SQL Server: only 2022 and 2025, with the MI's update
/// policy matching the release ("Update policy", learn.microsoft.com: Always-up-to-date
/// links from SQL Server but never fails back).
pub fn two_way(v: SqlVersion, policy: UpdatePolicy) -> bool {
    matches!(
        (v.major, policy),
        (16, UpdatePolicy::SqlServer2022) | (17, UpdatePolicy::SqlServer2025)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> SqlVersion {
        SqlVersion::parse(s).unwrap()
    }

    #[test]
    fn each_release_needs_its_build() {
        assert!(refusal(v("12.0.6024.0")).unwrap().contains("2016 SP3"));
        assert!(refusal(v("13.0.6300.2")).unwrap().contains("13.0.7000.253"));
        assert_eq!(refusal(v("13.0.7000.253")), None);
        assert!(refusal(v("14.0.3456.2")).unwrap().contains("14.0.3490.10"));
        assert_eq!(refusal(v("14.0.3490.10")), None);
        assert!(refusal(v("15.0.4311.1")).unwrap().contains("15.0.4312.2"));
        assert_eq!(refusal(v("15.0.4312.2")), None);
        assert_eq!(refusal(v("16.0.1000.6")), None);
        assert_eq!(refusal(v("17.0.1000.7")), None);
    }

    #[test]
    fn what_each_version_can_do() {
        assert!(!has_cluster_type(v("13.0.7000.253")));
        assert!(has_cluster_type(v("14.0.3490.10")));
        assert!(one_way(v("15.0.4312.2")) && !one_way(v("16.0.1000.6")));
        assert!(!tsql_failover(v("16.0.1000.6")));
        assert!(tsql_failover(v("16.0.4125.3")) && tsql_failover(v("17.0.1000.7")));
        assert!(two_way(v("16.0.4125.3"), UpdatePolicy::SqlServer2022));
        assert!(!two_way(v("16.0.4125.3"), UpdatePolicy::AlwaysUpToDate));
        assert!(!two_way(v("17.0.1000.7"), UpdatePolicy::SqlServer2022));
        assert!(!two_way(v("15.0.4312.2"), UpdatePolicy::SqlServer2022));
    }
}
