//! Which SQL Server can have a link, and what its version can do ("Prepare environment for
//! link", learn.microsoft.com, supported versions; methods.md §1.2).

use ferry_sdk::sql_version::{SqlVersion, UpdatePolicy};

/// SQL Server 2022 CU13 (KB5036432), the first build with T-SQL `ALTER AVAILABILITY GROUP
/// [dag] FAILOVER` for a link ("Fail over link").
const TSQL_FAILOVER_2022: u32 = 4125;

/// Why this version cannot have a link, or None (the matrix lives in the SDK, which `assess`
/// shares).
pub use ferry_sdk::link_versions::link_refusal as refusal;

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
